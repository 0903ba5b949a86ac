"""Each task's work runs in a forked child process that the worker supervises.

yt-dlp can hold the GIL for minutes (a catastrophic regex in a format filter), wait on a
server that drips a byte at a time (its socket timeout restarts with every byte), and
start ffmpeg processes that write to disk without calling back. None of that can be
stopped from inside the process doing it. So the django-q2 worker forks a child for the
work and only watches it: it keeps the task's heartbeat, writes its progress, and ends
the child's whole process group, ffmpeg included, when a limit is passed:

    the task's deadline           TASK_TIME_LIMIT seconds after it started
    metadata extraction           EXTRACTION_TIMEOUT seconds
    downloading                   STALL_TIMEOUT seconds without a byte (by the progress the
                                  child reports, or the growth of the work directory, which
                                  is how downloads that ffmpeg makes show)
    the disk                      below MIN_FREE_DISK, checked every second
    the byte quotas               the key's or the server's passed (quotas.py): what the
                                  child wrote is counted in the database every second
    a cancel                      the task moved on without it (cancelled, deleted,
                                  recovered), asked every STOP_CHECK_INTERVAL
    the heartbeat                 no beat reached the database for `lease` seconds: the
                                  task may be recovered elsewhere any moment, and must
                                  not run twice (runner.task_run then ends the worker)

A live recording asked to stop early and keep what it has gets SIGINT in the child
alone, once ffmpeg has written something: yt-dlp then sends ffmpeg `q`, ffmpeg finalizes
the file, and yt-dlp treats an interrupted live download as complete, so the task's
normal finalize-and-publish path runs.

Ctrl-C (SIGINT to the cluster's process group: a terminal, or scripts/serve.sh) interrupts
the worker's running task: its child's process group is killed and the task is left
`processing`, so that the next cluster to start on this host recovers it at once, as after
a crash (recovery.py). A
worker that has been interrupted starts no further task. (SIGTERM to the cluster's main
process only, as Docker sends it, lets running tasks finish.)

os.fork, not multiprocessing: django-q2 workers are daemonic processes, which may not
start multiprocessing children. The child never touches the database (a connection must
not be shared across a fork, and in the test suite the worker is the pytest process,
inside a transaction the child could not see). It reports over a pipe, one JSON object per
line, and leaves with os._exit: the worker's atexit handlers and connections are not its
own.
"""

import contextlib
import dataclasses
import json
import logging
import os
import select
import signal
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError

from downloads_app import heartbeat, metrics, processes, quotas, storage, ytdlp
from downloads_app.errors import ErrorCode
from downloads_app.heartbeat import KEEP, STOP
from downloads_app.limits import (
    Limits,
    extraction_timeout_message,
    stall_message,
    time_limit_message,
)
from downloads_app.models import CANCELLED, Task
from downloads_app.task_work import DOWNLOADING, EXTRACTING, Channel, Outcome

logger = logging.getLogger("ytdlphost.tasks")

# How often the worker looks at its child (seconds): the delay of every limit.
TICK = 0.25
DISK_CHECK_INTERVAL = 1.0
# How often the worker asks whether its task was cancelled (seconds).
STOP_CHECK_INTERVAL = 0.5


_interrupted = False


def interrupted() -> bool:
    """Whether this worker was told to stop now (module docstring)."""
    return _interrupted


def _interrupt(signum, frame) -> None:
    global _interrupted
    _interrupted = True


def interrupt_on_sigint(**kwargs) -> None:
    """In a django-q2 worker as it starts (its post_spawn signal): Ctrl-C interrupts the
    running task. django-q2 has its workers ignore SIGINT; the cluster's main process
    stops the cluster on it."""
    signal.signal(signal.SIGINT, _interrupt)


def warm_up_worker(**kwargs) -> None:
    """In a django-q2 worker as it starts (its post_spawn signal): load what yt-dlp needs
    once, so that the child of every task inherits it instead of loading it again
    (ytdlp.warm_up). A worker that cannot warm up still runs tasks, only slower."""
    try:
        ytdlp.warm_up()
    except Exception:
        logger.warning("yt-dlp warm-up failed; each task loads it itself", exc_info=True)
    storage.warm_up()


def _run_child(work: Callable[[Channel], Outcome], channel_fd: int, parent: int, task_id: str):
    """The child's whole life; never returns."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker ends it
        # Its own process group, which ffmpeg inherits, so the worker can end them all; no
        # secret of the service; no database (processes.py).
        processes.become_child(parent)
        os.environ[processes.TASK_MARKER] = task_id
        # SIGINT is how the worker stops a live recording early (KEEP); the worker's own
        # handler (django-q2's, pytest's) must not run here.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        channel = Channel(channel_fd)
        try:
            outcome = work(channel)
        except KeyboardInterrupt:  # stopped before yt-dlp had a recording to keep
            outcome = Outcome(error=CANCELLED, error_code=ErrorCode.CANCELLED)
        except Exception as exc:
            logger.exception("task %s failed unexpectedly", task_id)
            outcome = internal_error(exc)
        channel.send(**dataclasses.asdict(outcome))
    finally:
        os._exit(0)


def _directory_size(path: Path) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # renamed or removed meanwhile
                total += os.stat(os.path.join(directory, name)).st_size
    return total


class Supervisor:
    """Runs a task's work in a child and watches it from the worker (module docstring).

    The worker, the only process of the task that uses the database, writes the task's
    progress and heartbeat and asks whether it should stop (heartbeat.py); after a lease
    (heartbeat.heartbeat_lease) without a beat that reached the database, the work is
    stopped and the outcome is `cut_off`.
    """

    def __init__(self, task: Task, work_dir: Path):
        self.task = task
        self.task_id = task.id
        self.work_dir = work_dir
        self.record_progress = heartbeat.ProgressRecorder(task.id)
        self.heartbeat_interval = heartbeat.heartbeat_interval()
        self.lease = heartbeat.heartbeat_lease()
        self.limits = Limits.from_settings()
        # The byte quotas: what the task may download as it starts (for its child), and
        # the count of what it writes: each file's latest count from the child's progress
        # (a merge's streams are files of their own), or, of a download that reports
        # none (ffmpeg's), the growth of the work directory.
        self.quota_room = quotas.room_for(task)
        self.byte_counter = quotas.ByteCounter(task)
        self.written_by_file: dict[str, int] = {}
        self.size_by_file: dict[str, int] = {}
        self.directory_written = 0
        self.stopped_by = ""  # the scope of the quota the run passed, once it has

    def run(self, work: Callable[[Channel], Outcome]) -> Outcome:
        read_fd, write_fd = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _run_child(work, write_fd, parent, self.task_id)
        os.close(write_fd)
        # Also here, so that the group exists before the worker may signal it (OSError:
        # the child did it first, or is gone already).
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        try:
            outcome = self._watch(read_fd, pid)
        finally:
            os.close(read_fd)
            status = processes.end_child(pid)
        if outcome is None:
            outcome = Outcome(
                error=f"Internal error: the task's process {_describe(status)}",
                error_code=ErrorCode.INTERNAL,
            )
        # What the child wrote since the last count counts too, however the run ended.
        self._count_written()
        if outcome.error_code == ErrorCode.QUOTA_EXCEEDED:
            # Passed while downloading (the quota it passed), or refused by the child (the
            # quota that left it the least room).
            room = self.quota_room
            metrics.record_quota_stop(self.stopped_by or (room and room.allowance.scope) or "")
        return outcome

    def _written(self) -> int:
        return sum(self.written_by_file.values()) or self.directory_written

    def _count_written(self) -> quotas.Allowance | None:
        """Count what the child has written (ByteCounter); the quota it passed, if any.
        A count that does not reach the database is made by the next one."""
        try:
            return self.byte_counter.count(self._written())
        except DatabaseError:
            logger.warning("task %s: its bytes were not counted", self.task_id, exc_info=True)
            return None

    def _note_progress(self, progress: dict) -> None:
        name, written = progress.get("file") or "", progress.get("downloaded_bytes")
        if isinstance(written, int) and written >= self.written_by_file.get(name, 0):
            self.written_by_file[name] = written
        size = progress.get("total_bytes") or progress.get("total_bytes_estimate")
        if isinstance(size, int | float) and size > 0:
            self.size_by_file[name] = int(size)

    def _quota_outcome(self, allowance: quotas.Allowance) -> Outcome:
        wanted = sum(self.size_by_file.values()) or None
        message, retry_after = quotas.stopped(allowance, wanted)
        self.stopped_by = allowance.scope
        logger.warning("task %s stopped: %s", self.task_id, message)
        return Outcome(error=message, error_code=ErrorCode.QUOTA_EXCEEDED, retry_after=retry_after)

    def _watch(self, read_fd: int, pid: int) -> Outcome | None:
        """Read the child's messages until it sends its outcome, stops without one (None),
        passes a limit (an Outcome naming it) or is cancelled."""
        now = time.monotonic()
        next_stop_check, keeping = now, False
        deadline = now + settings.TASK_TIME_LIMIT
        phase, phase_started = EXTRACTING, now
        last_activity, activity = now, None
        progress_bytes = None
        next_beat, next_disk_check = now + self.heartbeat_interval, now
        next_count = now + heartbeat.PROGRESS_INTERVAL
        last_beat = now  # the claim wrote the first heartbeat
        buffer = b""
        while True:
            if _interrupted:
                logger.info("task %s interrupted: the worker is stopping", self.task_id)
                return Outcome(interrupted=True)
            ready, _, _ = select.select([read_fd], [], [], TICK)
            if ready:
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    return None
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    message = json.loads(line)
                    if "phase" in message:
                        phase, phase_started = message["phase"], time.monotonic()
                        last_activity = phase_started
                    elif "progress" in message:
                        progress_bytes = message["progress"].get("downloaded_bytes")
                        self._note_progress(message["progress"])
                        self.record_progress(message["progress"])
                    else:
                        return Outcome(**message)
            now = time.monotonic()
            if phase == DOWNLOADING:
                seen = (progress_bytes, _directory_size(self.work_dir))
                self.directory_written = max(self.directory_written, seen[1])
                if seen != activity:
                    last_activity, activity = now, seen
            reason, code = None, ErrorCode.TIMEOUT
            if now > deadline:
                reason = time_limit_message()
            elif phase == EXTRACTING and now - phase_started > settings.EXTRACTION_TIMEOUT:
                reason = extraction_timeout_message()
            elif phase == DOWNLOADING and now - last_activity > settings.STALL_TIMEOUT:
                reason = stall_message()
            elif now >= next_disk_check:
                next_disk_check = now + DISK_CHECK_INTERVAL
                room = self.limits.disk_room()
                if room is not None and room < 0:
                    reason, code = self.limits.low_disk_message(), ErrorCode.NO_SPACE
            if reason:
                logger.warning("task %s stopped: %s", self.task_id, reason)
                return Outcome(error=reason, error_code=code)
            # Without a quota to stop it, a task's bytes are counted once, after its run:
            # no second write a second beside its progress.
            if self.byte_counter.limited and now >= next_count:
                next_count = now + heartbeat.PROGRESS_INTERVAL
                if passed := self._count_written():
                    return self._quota_outcome(passed)
            if now >= next_stop_check:
                next_stop_check = now + STOP_CHECK_INTERVAL
                request = heartbeat.stop_request(self.task)
                if request == STOP:
                    logger.info("task %s stopped: cancelled", self.task_id)
                    return Outcome(error=CANCELLED, error_code=ErrorCode.CANCELLED)
                # Only once ffmpeg has written something: before, there is nothing to keep.
                if (
                    request == KEEP
                    and not keeping
                    and phase == DOWNLOADING
                    and activity
                    and activity[1]
                ):
                    logger.info("task %s: stopping the recording early", self.task_id)
                    keeping = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGINT)  # the child alone, not ffmpeg
            if now >= next_beat:
                next_beat = now + self.heartbeat_interval
                # From when the beat took its timestamp: a write that waited on a lock
                # records an instant already past.
                if heartbeat.record_heartbeat(self.task):
                    last_beat = now
                elif time.monotonic() - last_beat > self.lease:
                    logger.error(
                        "task %s stopped: no heartbeat reached the database for %.0f s; "
                        "it is left to recovery", self.task_id, time.monotonic() - last_beat,
                    )  # fmt: skip
                    return Outcome(interrupted=True, cut_off=True)


def internal_error(exc: Exception) -> Outcome:
    """The outcome of an exception nobody expected: the software failed (`internal`)."""
    return Outcome(
        error=f"Internal error: {type(exc).__name__}: {exc}", error_code=ErrorCode.INTERNAL
    )


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)} without a result"
