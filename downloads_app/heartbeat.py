"""What a worker and the database tell each other while a task runs: the heartbeat that
keeps the task the worker's, its progress, and whether the run should stop.

The worker writes these from its supervision loop (supervisor.py), which the task's own
work, in a child process, cannot block.
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from downloads_app.models import Task, TaskStatus

logger = logging.getLogger("ytdlphost.tasks")

# Progress is written to the database at most this often (seconds).
PROGRESS_INTERVAL = 1.0

# What the stop check answers (besides None: carry on).
STOP = "stop"  # end the work now: its task was cancelled or has moved on
KEEP = "keep"  # stop a live recording early and keep what it has
CANCELLED = "Cancelled"  # the error of a cancelled task


def heartbeat_interval() -> float:
    """How often a worker beats: a task goes stale (STALE_TASK_TIMEOUT) only after at least
    three beats in a row were missed, so a beat lost to a busy database costs nothing."""
    return min(5.0, settings.STALE_TASK_TIMEOUT / 3)


def recovery_interval() -> float:
    """How often every cluster looks for interrupted tasks (recovery.py): a task is found
    at most this long after its heartbeat went stale, or its worker died on this host."""
    return heartbeat_interval() / 2


def own_run(task: Task):
    """The task's row while it is still in the run this worker claimed: processing, in
    this attempt, by this worker (recovery renames the worker when it takes a task)."""
    return Task.objects.filter(
        pk=task.pk, status=TaskStatus.PROCESSING, attempts=task.attempts, worker=task.worker
    )


def record_heartbeat(task: Task) -> bool:
    """Tell the database that the worker running a task is alive; whether it got through.

    A task whose heartbeat stops (the worker was killed, the machine went down) is found
    by task_recover_interrupted. The worker beats from its supervision loop, which the
    task's own work (in a child process) cannot block. Only its own run: a worker whose
    task was taken from it cannot make it look alive again.
    """
    try:
        own_run(task).update(heartbeat_at=timezone.now())
    except DatabaseError:
        # One missed beat is harmless (heartbeat_interval); the next one may get through.
        logger.warning("heartbeat of task %s failed", task.id, exc_info=True)
        return False
    return True


def heartbeat_lease() -> float:
    """How long a worker runs its task without a beat that reached the database: one beat
    less than STALE_TASK_TIMEOUT, so it has stopped before any cluster may take the task
    (a worker cut off from the database, while other clusters reach it)."""
    return settings.STALE_TASK_TIMEOUT - heartbeat_interval()


class ProgressRecorder:
    """A yt-dlp progress hook that writes to the task row at most once per interval."""

    def __init__(self, task_id: str, interval: float = PROGRESS_INTERVAL):
        self.task_id = task_id
        self.interval = interval
        self.last_write = 0.0

    def __call__(self, status: dict):
        if status.get("status") != "downloading":
            return
        now = time.monotonic()
        if now - self.last_write < self.interval:
            return
        self.last_write = now
        try:
            Task.objects.filter(pk=self.task_id, status=TaskStatus.PROCESSING).update(
                downloaded_bytes=status.get("downloaded_bytes"),
                total_bytes=status.get("total_bytes") or status.get("total_bytes_estimate"),
                speed=status.get("speed"),
                eta=status.get("eta"),
            )
        except DatabaseError:  # progress is informative; the next write may get through
            logger.warning("progress of task %s not recorded", self.task_id, exc_info=True)


def stop_request(task: Task) -> str | None:
    """What the supervision of this run should do (STOP, KEEP or None).

    STOP when the task has moved on without this run: cancelled (task_cancel), deleted
    (task_delete), or taken by recovery (which renames its worker) because this worker
    had stopped beating for STALE_TASK_TIMEOUT; the run then ends at once, so the task is
    never run twice at the same time for longer than a STOP_CHECK_INTERVAL.
    """
    try:
        row = (
            Task.objects.filter(pk=task.pk)
            .values_list("status", "attempts", "worker", "keep_requested")
            .first()
        )
    except DatabaseError:  # asked again in a moment
        logger.warning("task %s: could not check for a cancel", task.id, exc_info=True)
        return None
    if row is None or row[:3] != (TaskStatus.PROCESSING, task.attempts, task.worker):
        return STOP
    return KEEP if row[3] else None
