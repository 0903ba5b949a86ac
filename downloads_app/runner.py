"""The worker's run of a task (django-q2's run_task): claim it, supervise its work in a
child process, end it.

The path reads top to bottom, each module importing only those below it: tasks.py ->
runner.py -> supervisor.py -> heartbeat.py (the task's row while it runs) and
task_work.py (yt-dlp and ffmpeg, in the child). The claim and the end are lifecycle.py's.
"""

import contextlib
import gc
import logging
import shutil
import time

from downloads_app import library, storage, supervisor, task_work, ytdlp_updates, ytdlp_versions
from downloads_app.directories import task_dir, work_dir
from downloads_app.errors import ErrorCode
from downloads_app.lifecycle import (
    dispatch_next_waiting,
    enqueue,
    log_fields,
    playlist_expand,
    report_finished,
    task_claim,
    task_finish,
)
from downloads_app.models import Task, TaskStatus
from downloads_app.task_work import child_work

logger = logging.getLogger("ytdlphost.tasks")


@contextlib.contextmanager
def _shared_with_the_child():
    """The worker's objects left alone by its garbage collector, and the child's, while
    the task's child runs: the child is a fork that shares the worker's memory pages until
    one of them writes to a page, and a collection writes to every object it looks at. Without
    this, each task child copied most of the worker's pages (bench/memory.py: 56-67 MB of
    private memory per child, 31-42 MB with it). The worker's objects are long-lived; its
    own new ones are still collected.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def task_run(task_id: str) -> None:
    """Run a task to its end: its work runs in a child process that this worker
    supervises (supervisor.py). Failures end the task as `error`; the worker itself never
    fails because of a task."""
    if supervisor.interrupted():
        # Taken from the queue while the worker stops: for the next start.
        enqueue(task_id)
        return
    task = task_claim(task_id, _current_ytdlp())
    if task is None:
        return
    run_dir = work_dir(task)
    started = time.monotonic()
    logger.info(
        "task %s processing: %s for key %s, attempt %d",
        task.id, task.task_type, task.api_key.name, task.attempts,
        extra=log_fields(task),
    )  # fmt: skip
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        watcher = supervisor.Supervisor(task, run_dir)
        with _shared_with_the_child():
            outcome = watcher.run(child_work(task, run_dir, watcher.quota_room))
    except Exception as exc:
        logger.exception("task %s failed unexpectedly", task.id)
        outcome = supervisor.internal_error(exc)
    finally:
        # With a bucket the whole task folder was scratch space, uploaded or failed; no
        # other run can be using it, since workers share no disk then and a task is run
        # again on the same machine only once its worker there is dead.
        shutil.rmtree(task_dir(task.id) if storage.remote() else run_dir, ignore_errors=True)
    if outcome.cut_off:
        # Left `processing`, for recovery. The worker ends too: a worker of this host that
        # is alive keeps its task (task_recover_interrupted), and one that cannot reach
        # the database is of no use; django-q2 starts a new one.
        raise SystemExit(f"task {task.id}: the worker lost the database")
    if outcome.interrupted:
        # Left `processing`: once this worker is gone, the recovery of the next cluster to
        # start on this host runs it again at once, as after a crash
        # (task_recover_interrupted).
        return
    if outcome.error:
        finished = task_finish(
            task, TaskStatus.ERROR, error=outcome.error, error_detail=outcome.error_detail,
            error_code=outcome.error_code, retry_after=outcome.retry_after,
        )  # fmt: skip
    elif task.is_playlist:
        playlist_expand(task, outcome.title, outcome.entries)
        dispatch_next_waiting(task.api_key_id, task.site)
        return
    else:
        finished = task_finish(
            task, TaskStatus.COMPLETED, file_name=outcome.file_name, title=outcome.title,
            library_path=outcome.library_path,
            file_size=outcome.file_size,
            extra_files=outcome.extra_files,
        )  # fmt: skip
    if outcome.error or not finished:
        storage.discard_failed_run(task)  # what the run put into the bucket (STORAGE=s3)
    if finished:
        report_finished(task, time.monotonic() - started)
        if outcome.error_code == ErrorCode.INTERNAL:
            _roll_back_ytdlp_if_failing(task)
    else:
        _discard_cancelled_result(task, outcome)
    # Its slots are free (its key's, its site's): a deferred task may start.
    dispatch_next_waiting(task.api_key_id, task.site)


def _current_ytdlp() -> str:
    """The yt-dlp this task will run: the host's current one, swapped in first when it
    changed since the worker's last task (ytdlp_versions.ensure_current)."""
    try:
        return ytdlp_versions.ensure_current()
    except Exception:
        logger.exception("this worker could not switch to the current yt-dlp")
        return ytdlp_versions.loaded_version()


def _roll_back_ytdlp_if_failing(task: Task) -> None:
    """A task failed because the software did: an updated yt-dlp that fails many tasks
    so is rolled back (ytdlp_updates.roll_back_if_failing)."""
    try:
        ytdlp_updates.roll_back_if_failing(task.yt_dlp_version)
    except Exception:
        logger.exception(
            "could not decide whether yt-dlp %s must be rolled back", task.yt_dlp_version
        )


def _discard_cancelled_result(task: Task, outcome: task_work.Outcome) -> None:
    """A run that lost the race to task_cancel or task_delete leaves nothing behind: the
    file it may have published just before (and placed in the library), or the directory
    a deleted task's download wrote again after the delete removed it."""
    if outcome.library_files:
        library.remove(outcome.library_files)
    row = Task.objects.filter(pk=task.pk).values_list("cancelled", flat=True).first()
    if row is None:
        shutil.rmtree(task_dir(task.id), ignore_errors=True)
    elif row and outcome.file_name:
        for name in (outcome.file_name, *(extra["name"] for extra in outcome.extra_files)):
            (task_dir(task.id) / name).unlink(missing_ok=True)
