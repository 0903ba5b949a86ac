"""The maintenance of tasks: recover those whose worker died, queue again those whose
queue message may be lost or whose site's backoff ended, delete expired ones with their
files.

Each cluster runs the recovery and the end of backoffs as it starts and every few seconds
(recovery.py); the every-minute schedule (tasks.cleanup) runs all of it.
"""

import logging
import secrets
import shutil
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from downloads_app import limits, processes, site_limits, webhook_events
from downloads_app.directories import remove_work_dirs, task_dir
from downloads_app.errors import ErrorCode
from downloads_app.lifecycle import (
    dispatch_for_site,
    dispatch_next_waiting,
    enqueue,
    lock_parent,
    settle_playlist,
)
from downloads_app.models import Site, Task, TaskStatus, TaskTombstone
from downloads_app.rate_limit import forget_old_requests

logger = logging.getLogger("ytdlphost.tasks")

# A task interrupted this many times is failed instead of run again.
MAX_ATTEMPTS = 2
# A waiting task queued this long ago is queued again: its queue message may have been
# lost (a broker restart, a cluster killed with tasks prefetched). Claiming is
# idempotent, so a duplicate message costs nothing but a no-op.
REQUEUE_AFTER = timedelta(minutes=10)
# A waiting task never queued this long after it was created lost its message before it
# was sent: the web worker that committed the row was killed before its on_commit hook
# ran (or enqueue failed between the two). Sending takes milliseconds after the commit.
NEVER_QUEUED_AFTER = timedelta(seconds=30)


def task_recover_interrupted() -> dict:
    """Find tasks whose worker died and run them again once, or fail them.

    Every cluster runs this when it starts and every recovery_interval() while it runs
    (recovery.py), and the every-minute maintenance runs it too. A processing task was
    interrupted when
      - its worker was of this host (processes.py) and is gone: known for sure, so it is
        recovered at once, whatever its heartbeat says;
      - its worker was of another host and its heartbeat is older than
        STALE_TASK_TIMEOUT: across hosts the heartbeat is the only signal. The task's
        work cannot starve it, since it runs in a child of the worker (supervisor.py).
    A worker alive on this host keeps its task however old its heartbeat: it is slow,
    and its own supervision ends it by TASK_TIME_LIMIT at the latest.

    An interrupted task is first taken (_take_interrupted), then what is left of it on
    this host (the ffmpeg of a killed worker) is killed and its partial files are
    removed, then it goes back to waiting (first interruption) or ends as `error` (second
    interruption, or past TASK_TIME_LIMIT, which is how a task killed by django-q2's
    timeout ends). A task failed here frees its key's and its site's slots: their deferred
    tasks are dispatched, as when a task ends.

    When nothing is interrupted this costs one query on the status index.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.STALE_TASK_TIMEOUT)
    this_host = Q(worker__startswith=f"{processes.this_host()}:")
    candidates = Task.objects.filter(status=TaskStatus.PROCESSING, expanded_at__isnull=True)
    requeued, failed, freed = [], 0, set()
    for task in candidates.filter(Q(heartbeat_at__lt=stale_before) | this_host):
        if processes.is_of_this_host(task.worker):
            if processes.worker_alive_here(task.worker, task.started_at):
                continue
        elif task.heartbeat_at is None or task.heartbeat_at >= stale_before:
            continue  # of this host, but no process table to look in (UNKNOWN_HOST)
        mark = _take_interrupted(task, now)
        if mark is None:  # another cluster took it first, or its worker beat meanwhile
            continue
        killed = processes.kill_task_processes(task.id)
        if killed:
            logger.warning("task %s: killed %d processes its dead worker left", task.id, killed)
        remove_work_dirs(task.id)
        taken = Task.objects.filter(pk=task.pk, status=TaskStatus.PROCESSING, worker=mark)
        over_time = task.started_at and now - task.started_at > timedelta(
            seconds=settings.TASK_TIME_LIMIT
        )
        if over_time or task.attempts >= MAX_ATTEMPTS:
            if over_time:
                reason, code = limits.time_limit_message(), ErrorCode.TIMEOUT
            else:
                reason, code = (
                    f"Task was interrupted {task.attempts} times (its worker stopped); giving up",
                    ErrorCode.INTERRUPTED,
                )
            with transaction.atomic():
                lock_parent(task)
                if taken.update(
                    status=TaskStatus.ERROR, error=reason, error_code=code, finished_at=now
                ):
                    failed += 1
                    freed.add((task.api_key_id, task.site))
                    task.status, task.error, task.finished_at = TaskStatus.ERROR, reason, now
                    task.error_code = code
                    webhook_events.task_ended(task)
                    settle_playlist(task.parent_id, now)
        elif taken.update(status=TaskStatus.WAITING, heartbeat_at=None, worker=""):
            requeued.append(task.id)
    for task_id in requeued:
        enqueue(task_id)
    for api_key_id, site in freed:  # a failed task's slots are free, as when a task ends
        dispatch_next_waiting(api_key_id, site)
    if requeued or failed:
        logger.warning("recovered interrupted tasks: %d requeued, %d failed", len(requeued), failed)
    return {"requeued": len(requeued), "failed": failed}


def _take_interrupted(task: Task, now) -> str | None:
    """Make an interrupted task this recovery's own before touching its processes and
    files; the name it now runs under, or None when it was not interrupted after all.

    A conditional UPDATE on the worker and heartbeat seen: of several clusters recovering
    at once, one takes it; a worker that beat meanwhile keeps it. The task stays
    `processing` meanwhile, so no worker can claim it while its leftovers are removed,
    and the old worker, if it comes back, finds another name on it and stops
    (stop_request). A recovery that dies halfway leaves a heartbeat that goes stale.
    """
    # Unique (the token), and never of a host (processes.is_of_this_host).
    mark = f"recovery {secrets.token_hex(6)} by {processes.worker_name()}"
    mark = mark[: Task._meta.get_field("worker").max_length]
    taken = Task.objects.filter(
        pk=task.pk,
        status=TaskStatus.PROCESSING,
        attempts=task.attempts,
        worker=task.worker,
        heartbeat_at=task.heartbeat_at,
    ).update(worker=mark, heartbeat_at=now)
    return mark if taken else None


def requeue_lost_messages() -> dict:
    """Queue again the waiting tasks whose queue message may be lost: those never queued
    (`queued_at` empty NEVER_QUEUED_AFTER after creation: the web process died between
    commit and send), and those queued REQUEUE_AFTER ago (the broker lost the message).

    A task deferred for its key's cap or its site's limits keeps its `queued_at`, so it is
    not taken for a never-queued one; at most every REQUEUE_AFTER it gets a message that,
    while its key or site still holds it back, defers it again.
    """
    now = timezone.now()
    lost = Task.objects.filter(status=TaskStatus.WAITING).filter(
        Q(queued_at__lt=now - REQUEUE_AFTER)
        | Q(queued_at__isnull=True, created_at__lt=now - NEVER_QUEUED_AFTER)
    )
    lost_ids = list(lost.values_list("id", flat=True))
    for task_id in lost_ids:
        enqueue(task_id)
    return {"requeued_lost": len(lost_ids)}


def resume_sites() -> dict:
    """Queue the tasks held back by the sites whose backoff has ended (their refusal's
    Retry-After, or their own backoff, is over); dispatch_for_site clears each ended
    backoff, so a site is resumed once. When no backoff has ended this is one query."""
    ended = Site.objects.filter(backoff_until__lte=timezone.now())
    resumed = 0
    for site in ended.values_list("name", flat=True):
        queued = dispatch_for_site(site)
        logger.info("site %s: backoff over, %d held tasks queued", site, queued)
        resumed += queued
    return {"resumed_after_backoff": resumed}


def cleanup_expired() -> dict:
    """Delete tasks finished TASK_CLEANUP_TIME minutes ago, with their files, leaving a
    tombstone for each; forget tombstones older than TASK_TOMBSTONE_DAYS; sweep
    directories in DOWNLOAD_DIR that belong to no task."""
    now = timezone.now()
    cutoff = now - timedelta(minutes=settings.TASK_CLEANUP_TIME)
    # Read, buried and deleted in one transaction, so a task deleted on purpose meanwhile
    # (no tombstone: 404) is not buried as expired (410).
    with transaction.atomic():
        # A playlist's entries are removed with it, so its ZIP never misses one.
        expired = dict(
            Task.objects.filter(finished_at__lt=cutoff, parent__isnull=True).values_list(
                "id", "api_key_id"
            )
        )
        expired.update(
            Task.objects.filter(parent_id__in=list(expired)).values_list("id", "api_key_id")
        )
        TaskTombstone.objects.bulk_create(
            [
                TaskTombstone(id=task_id, api_key_id=api_key_id, expired_at=now)
                for task_id, api_key_id in expired.items()
            ],
            ignore_conflicts=True,  # a concurrent cleanup buried it already
        )
        Task.objects.filter(pk__in=expired).delete()
    # Files after rows: a directory left by a crash here is swept as an orphan later.
    for task_id in expired:
        shutil.rmtree(task_dir(task_id), ignore_errors=True)
    forgotten, _ = TaskTombstone.objects.filter(
        expired_at__lt=now - timedelta(days=settings.TASK_TOMBSTONE_DAYS)
    ).delete()
    swept = sweep_orphan_directories()
    forget_old_requests()
    site_limits.forget_idle_sites(now)
    return {"tasks_deleted": len(expired), "tombstones_deleted": forgotten, "orphans_swept": swept}


def expired_message() -> str:
    minutes = settings.TASK_CLEANUP_TIME
    unit = "minute" if minutes == 1 else "minutes"
    return f"Task expired: finished tasks are kept for {minutes:g} {unit} (TASK_CLEANUP_TIME)"


# A directory younger than this may belong to a task whose row is not yet visible.
ORPHAN_GRACE_SECONDS = 60


def sweep_orphan_directories() -> int:
    root = settings.DOWNLOAD_DIR
    if not root.is_dir():
        return 0
    now = time.time()
    candidates = [
        entry for entry in root.iterdir()
        if entry.is_dir() and now - entry.stat().st_mtime > ORPHAN_GRACE_SECONDS
    ]  # fmt: skip
    known = set(
        Task.objects.filter(pk__in=[c.name for c in candidates]).values_list("id", flat=True)
    )
    swept = 0
    for entry in candidates:
        if entry.name not in known:
            shutil.rmtree(entry, ignore_errors=True)
            swept += 1
    return swept
