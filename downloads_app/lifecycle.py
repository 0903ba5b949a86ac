"""A task's state changes: create, claim, finish, cancel, retry, delete, and the playlist's
entries and their end.

Each is a conditional UPDATE that touches only a row in the state it expects, so races and
late workers do nothing. Views, the admin, the worker's run (runner.py), the maintenance
(maintenance.py) and the import (legacy_import) call these; nothing else changes a Task's
status.
"""

import contextlib
import logging
import shutil

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django_q.tasks import async_task

from downloads_app import (
    metrics,
    processes,
    quotas,
    site_limits,
    slots,
    storage,
    url_policy,
    webhook_events,
)
from downloads_app.directories import task_dir
from downloads_app.errors import ErrorCode
from downloads_app.heartbeat import own_run
from downloads_app.models import (
    CANCELLED,
    LIVE_TYPES,
    PLAYLIST_FILE_NAME,
    TITLE_MAX_LENGTH,
    Task,
    TaskStatus,
    TaskType,
)
from downloads_app.rate_limit import (
    RateLimited,
    check_allowance,
    reserve_task_slot,
    reserve_task_slots,
)
from keys_app.models import APIKey
from ytdlphost import exceptions

logger = logging.getLogger("ytdlphost.tasks")


def task_create(api_key: APIKey, task_type: TaskType, fields: dict) -> Task:
    """A new waiting task, queued for a worker once the row is committed.

    The rate limit and the byte quotas are checked and the row written in one transaction
    holding the key's lock, so concurrent requests of one key cannot both take the last
    slot, nor the last bytes (a size known from the key's get_info is reserved:
    quotas.reserve). A playlist only needs a request and a byte left: its entries are
    counted when its run lists them (playlist_expand), their bytes as they download.
    """
    task = Task(api_key=api_key, task_type=task_type, **fields)
    size = None if task.is_playlist else quotas.known_size(api_key, task)
    with transaction.atomic():
        if task.is_playlist:
            check_allowance(api_key)
            quotas.check_allowance(api_key)
        else:
            reserve_task_slot(api_key, task.id)
            quotas.reserve(api_key, task, size)
        task.save(force_insert=True)
        # Logged once committed and before the queue message: a worker woken by the
        # message logs "processing" at once, and the log must read in the task's order.
        transaction.on_commit(lambda: log_created(task, api_key))
        transaction.on_commit(lambda: enqueue(task.id))
    return task


def log_created(task: Task, api_key: APIKey) -> None:
    logger.info(
        "task %s created: %s for key %s", task.id, task.task_type, api_key.name,
        extra={"task_id": task.id, "task_type": task.task_type, "key_name": api_key.name},
    )  # fmt: skip


def enqueue(task_id: str) -> None:
    """Send the task's queue message, then record when.

    In this order, so that a process killed in between leaves `queued_at` empty, which
    task_recover_interrupted finds within a minute; the other order would leave a task
    that looks queued but has no message, found only after REQUEUE_AFTER. A message sent
    twice costs nothing: the second claim finds the task no longer waiting.
    """
    sent_at = timezone.now()
    async_task("downloads_app.tasks.run_task", task_id, task_name=f"task-{task_id}")
    Task.objects.filter(pk=task_id).update(queued_at=sent_at)


def task_claim(task_id: str, yt_dlp_version: str = "") -> Task | None:
    """Mark a waiting task as processing, run by `yt_dlp_version` (the worker's); None
    when it is not waiting (already taken by another worker, a duplicate delivery, or
    deleted), or when its key or its site holds it back (slots.hold).

    A task deferred for its key's cap stays waiting, without a queue message: the end of
    one of that key's running tasks queues it again (dispatch_next_waiting), so one key
    cannot hold every worker and its next task starts as soon as a slot of its own frees.
    So does a task its site holds back (site_limits.py), until one of the site's tasks or
    its backoff ends. The key's row, then the site's, is locked while their running tasks
    are counted, until the task is claimed or marked.
    """
    now = timezone.now()
    with transaction.atomic():
        waiting = Task.objects.filter(pk=task_id, status=TaskStatus.WAITING)
        row = waiting.values_list("api_key_id", "site").first()
        if row is None:
            return None
        reason = slots.hold(*row, now)
        if reason:
            waiting.update(deferred=True)
            logger.info("task %s deferred: %s", task_id, reason, extra={"task_id": task_id})
            return None
        claimed = waiting.update(
            status=TaskStatus.PROCESSING,
            deferred=False,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            worker=processes.worker_name(),
            yt_dlp_version=yt_dlp_version,
            downloaded_bytes=None,
            total_bytes=None,
            speed=None,
            eta=None,
        )
    # With its playlist: an entry's name may hold the playlist's title (naming.py), and
    # the work's child process never reads the database.
    claimed_task = Task.objects.select_related("api_key", "parent").filter(pk=task_id)
    return claimed_task.first() if claimed else None


def dispatch_next_waiting(api_key_id: int, site: str = "") -> int:
    """Queue what waits for one of the key's slots, as many as it has free: its due webhook
    deliveries first (each ends within WEBHOOK_TIMEOUT), then its oldest deferred tasks;
    then, given the `site` of a task that ended, what waits for one of the site's slots
    (dispatch_for_site). Returns how many were queued.

    Runs when a task or a webhook attempt of the key ends. Only what a claim deferred is
    queued (slots.freed_for_key): it has no message out, while the key's other waiting
    tasks still have theirs.
    """
    deliveries, task_ids = slots.freed_for_key(api_key_id)
    for delivery_id, attempts in deliveries:
        webhook_events.enqueue(delivery_id, attempts)
    for task_id in task_ids:
        enqueue(task_id)
    return len(deliveries) + len(task_ids) + (dispatch_for_site(site) if site else 0)


def dispatch_for_site(site: str) -> int:
    """Queue the site's deferred tasks that its free slots let start (slots.freed_for_site);
    how many. Runs when one of its tasks ends and when its backoff ends
    (maintenance.resume_sites)."""
    task_ids = slots.freed_for_site(site)
    for task_id in task_ids:
        enqueue(task_id)
    return len(task_ids)


def log_fields(task: Task) -> dict:
    """Structured fields of a task's log lines (LOG_JSON shows them as JSON keys)."""
    return {"task_id": task.id, "task_type": task.task_type, "key_name": task.api_key.name}


def report_finished(task: Task, duration: float) -> None:
    logger.info(
        "task %s %s: %s for key %s in %.1fs",
        task.id, task.status, task.task_type, task.api_key.name, duration,
        extra={**log_fields(task), "status": task.status, "duration": round(duration, 3)},
    )  # fmt: skip
    if task.status == TaskStatus.ERROR:
        # yt-dlp's own words too: /status shows them, and the operator may need them first.
        logger.info(
            "task %s failed: %s [%s]%s",
            task.id, task.error, task.error_code,
            f" (yt-dlp: {task.error_detail})" if task.error_detail else "",
            extra={
                **log_fields(task), "error": task.error, "error_detail": task.error_detail,
                "error_code": task.error_code,
            },
        )  # fmt: skip
    # Recorded as it completed: with a bucket, the worker has no copy left to measure.
    size = (task.file_size or 0) if task.status == TaskStatus.COMPLETED else 0
    metrics.record_task_finished(task.task_type, task.status, duration, size)


def task_finish(
    task: Task,
    status: TaskStatus,
    file_name: str = "",
    error: str = "",
    error_detail: str = "",
    title: str = "",
    error_code: str = "",
    retry_after: int | None = None,
    library_path: str = "",
    file_size: int | None = None,
    extra_files: list | None = None,
) -> bool:
    """End the run this worker claimed; False when the task has moved on without it.
    A failure comes with its code (errors.ErrorCode) and, when there is one, the seconds
    a client should wait before trying again; a completed task placed in the library, with
    its path there.

    Like the claim, a conditional UPDATE: only a task still processing in this very
    attempt is finished, so a late worker cannot overwrite a task that recovery has
    requeued (or failed) and another worker may be running, nor one cleanup deleted.
    """
    finished_at = timezone.now()
    # An entry of a playlist keeps the title its playlist gave it, when there was one.
    title = (task.title if task.parent_id and task.title else title)[:TITLE_MAX_LENGTH]
    with transaction.atomic():
        lock_parent(task)
        updated = own_run(task).update(
            status=status,
            file_name=file_name,
            file_size=file_size,
            extra_files=extra_files or [],
            error=error,
            error_detail=error_detail,
            error_code=error_code,
            retry_after=retry_after,
            title=title,
            finished_at=finished_at,
            library_path=library_path,
        )
        if updated:
            task.status, task.file_name, task.error, task.error_detail = (
                status, file_name, error, error_detail,
            )  # fmt: skip
            task.error_code, task.retry_after = error_code, retry_after
            task.title, task.finished_at = title, finished_at
            task.library_path, task.file_size = library_path, file_size
            task.extra_files = extra_files or []
            webhook_events.task_ended(task)  # its event, committed with the status, sent after
            site_limits.task_ended(task, finished_at)  # a refusal: its site backs off
            settle_playlist(task.parent_id, finished_at)
    if not updated:
        logger.warning(
            "task %s finished as %s, but it had moved on meanwhile; result discarded",
            task.id, status, extra=log_fields(task),
        )  # fmt: skip
        return False
    return True


class TaskStateConflict(exceptions.Conflict):
    """The task is not in a state that allows this."""


UNFINISHED = (TaskStatus.WAITING, TaskStatus.PROCESSING)


def task_cancel(task_id: str, keep: bool = False) -> Task:
    """Cancel a waiting or processing task; the task as it is now.

    The task ends at once as `error`, "Cancelled", `cancelled`: the claim takes only
    waiting tasks, and a running worker sees the change within STOP_CHECK_INTERVAL and
    kills the work's process group (supervisor.py). The UPDATE is conditional on the task
    being unfinished, as the worker's task_finish is on it still processing, so of a cancel
    and a completion racing exactly one wins; the loser here is a 409.

    `keep` (live recordings): a recording in progress is stopped early and completed
    with what it has; the worker does that, so the task is still processing on return.
    A waiting one has nothing to keep and is cancelled.
    """
    task = Task.objects.select_related("api_key").filter(pk=task_id).first()
    if task is None:
        raise exceptions.NotFound("Task not found")
    if keep and task.task_type not in LIVE_TYPES:
        raise exceptions.Invalid("keep", "Only live recordings can be kept.")
    if keep and task.status == TaskStatus.PROCESSING:
        if Task.objects.filter(pk=task_id, status=TaskStatus.PROCESSING).update(
            keep_requested=True
        ):
            task.keep_requested = True
            logger.info("task %s: asked to stop early and keep", task_id, extra=log_fields(task))
            return task
    else:
        finished_at = timezone.now()
        cancel = {
            "status": TaskStatus.ERROR,
            "error": CANCELLED,
            "error_code": ErrorCode.CANCELLED,
            "retry_after": None,
            "cancelled": True,
            "deferred": False,
            "finished_at": finished_at,
        }
        with transaction.atomic():
            lock_parent(task)
            cancelled = Task.objects.filter(pk=task_id, status__in=UNFINISHED).update(**cancel)
            if cancelled and task.is_playlist:
                # Its entries with it; a running one's worker stops it as for any cancel.
                Task.objects.filter(parent_id=task_id, status__in=UNFINISHED).update(**cancel)
            if cancelled:
                task.refresh_from_db()
                webhook_events.task_ended(task)  # task.cancelled, committed with the cancel
                settle_playlist(task.parent_id, finished_at)
        if cancelled:
            _task_finished(task)
            # Its slots (if it ran) are free: a deferred task of the key or site may start.
            dispatch_next_waiting(task.api_key_id, task.site)
            return task
    task.refresh_from_db()
    raise TaskStateConflict(f"The task has already finished ({task.status})")


def lock_parent(task: Task) -> None:
    """Lock the row of the task's playlist, if it has one, before changing the task.

    Every change to an entry's status that may settle its playlist takes this lock first
    (always parent before child, so two such changes cannot deadlock), and the playlist
    is settled in the same transaction: of two entries ending at once, the second waits
    here, then sees the first one's end committed. (SQLite's IMMEDIATE transactions
    serialize them anyway.)
    """
    if task.parent_id:
        Task.objects.select_for_update().filter(pk=task.parent_id).values_list("pk").first()


def settle_playlist(parent_id: str | None, now) -> None:
    """End a listed playlist whose entries have all ended: `completed` when one of them
    completed (its file is the ZIP of theirs), `error` when every one failed. A no-op
    while an entry is waiting or running, and for a playlist that ended already.

    Called in the transaction that ended an entry, after lock_parent.
    """
    if parent_id is None:
        return
    counts = dict(
        Task.objects.filter(parent_id=parent_id)
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    if not counts or counts.get(TaskStatus.WAITING) or counts.get(TaskStatus.PROCESSING):
        return
    if counts.get(TaskStatus.COMPLETED):
        outcome = {
            "status": TaskStatus.COMPLETED, "file_name": PLAYLIST_FILE_NAME, "error": "",
            "error_code": "",
        }  # fmt: skip
    else:
        outcome = {
            "status": TaskStatus.ERROR, "file_name": "", "error": ALL_ENTRIES_FAILED,
            "error_code": ErrorCode.ENTRIES_FAILED,
        }  # fmt: skip
    settled = Task.objects.filter(
        pk=parent_id, status=TaskStatus.PROCESSING, expanded_at__isnull=False
    ).update(finished_at=now, **outcome)
    if settled:
        parent = Task.objects.select_related("api_key").get(pk=parent_id)
        webhook_events.task_ended(parent)  # once: only the UPDATE that settled it gets here
        logger.info(
            "task %s %s: playlist of %d entries", parent.id, parent.status,
            sum(counts.values()), extra={**log_fields(parent), "status": parent.status},
        )  # fmt: skip


ALL_ENTRIES_FAILED = "Every entry of the playlist failed"


def playlist_expand(task: Task, title: str, entries: list[dict]) -> None:
    """Create the playlist's entries as tasks of its type, each counted by the rate
    limit, in one transaction: all of them, or none and the playlist fails saying how
    many the key may start now. The playlist stays `processing` until they end.

    An entry whose URL the service refuses (not http or https, a literal internal
    address) is created failed, saying why; the connection guard checks the others when
    they run.
    """
    now = timezone.now()
    children = []
    for entry in entries:
        child = Task(
            api_key_id=task.api_key_id,
            task_type=task.playlist_type,
            parent_id=task.id,
            position=entry["position"],
            url=entry["url"],
            title=entry["title"][:TITLE_MAX_LENGTH],
            video_format=task.video_format,
            audio_format=task.audio_format,
            output_format=task.output_format,
            start_time=task.start_time,
            end_time=task.end_time,
            force_keyframes=task.force_keyframes,
            preset=task.preset,
            filename_template=task.filename_template,
            library=task.library,
            media_options=task.media_options,
        )
        refuse_unsafe_entry(child, now)
        children.append(child)
    runnable = [child.id for child in children if child.status == TaskStatus.WAITING]
    try:
        with transaction.atomic():
            listed = own_run(task).update(
                title=title[:TITLE_MAX_LENGTH], expanded_at=now, heartbeat_at=None
            )
            if not listed:  # cancelled or deleted while it was being listed
                return
            reserve_task_slots(task.api_key, runnable)
            Task.objects.bulk_create(children)
            settle_playlist(task.id, now)  # when not one entry may run
            for child_id in runnable:
                transaction.on_commit(lambda child_id=child_id: enqueue(child_id))
    except RateLimited as exc:
        finished = task_finish(
            task, TaskStatus.ERROR, error=str(exc), title=title,
            error_code=ErrorCode.KEY_RATE_LIMITED, retry_after=exc.retry_after,
        )  # fmt: skip
        if finished:
            report_finished(task, 0.0)
        return
    logger.info(
        "task %s listed %d entries", task.id, len(children), extra=log_fields(task)
    )  # fmt: skip


def refuse_unsafe_entry(task: Task, now) -> None:
    """Make a new task of a listed entry (a playlist's, a subscription's) failed, saying
    why, when the service refuses its URL (not http or https, a literal internal
    address); the connection guard checks the others when they run."""
    try:
        url_policy.check_url(task.url, resolve_host=False)
    except url_policy.URLNotAllowed as exc:
        task.status, task.finished_at = TaskStatus.ERROR, now
        task.error = f"The entry's URL {exc}"
        task.error_code = ErrorCode.NOT_ALLOWED


def tasks_start_what_fits(api_key: APIKey, tasks: list[Task]) -> list[Task]:
    """Create `tasks` (new, unsaved tasks of `api_key`) as far as the key's rate limit
    allows now, first first, each counted as one request and queued once committed;
    returns those created. For a subscription's check, which leaves the rest for its next
    check.

    One whose URL the service refuses is created failed (refuse_unsafe_entry), counting
    nothing, and its end is announced at once (webhook_events.task_ended).
    """
    now = timezone.now()
    for task in tasks:
        refuse_unsafe_entry(task, now)
    try:  # a key with no bytes left starts nothing: its next check tries again
        quotas.check_allowance(api_key)
    except quotas.QuotaExceeded:
        return []
    with transaction.atomic():
        runnable = [task.id for task in tasks if task.status == TaskStatus.WAITING]
        counted = set(reserve_task_slots(api_key, runnable, what_fits=True))
        created = [task for task in tasks if task.id in counted or task.status == TaskStatus.ERROR]
        Task.objects.bulk_create(created)
        for task in created:
            if task.status == TaskStatus.ERROR:
                webhook_events.task_ended(task)
                continue
            transaction.on_commit(lambda task=task: log_created(task, api_key))
            transaction.on_commit(lambda task=task: enqueue(task.id))
    return created


def _task_finished(task: Task) -> None:
    """A task reached its final state by a cancel (the worker's report_finished is the
    other place a final status is written)."""
    logger.info(
        "task %s cancelled: %s for key %s", task.id, task.task_type, task.api_key.name,
        extra={**log_fields(task), "status": "cancelled"},
    )  # fmt: skip


# A task run again (task_retry): as it was when created.
RETRY_RESET = {
    "status": TaskStatus.WAITING,
    "error": "",
    "error_detail": "",
    "error_code": "",
    "retry_after": None,
    "cancelled": False,
    "keep_requested": False,
    "deferred": False,
    "file_name": "",
    "library_path": "",
    "extra_files": [],
    "attempts": 0,
    "worker": "",
    "queued_at": None,
    "heartbeat_at": None,
    "started_at": None,
    "finished_at": None,
    "downloaded_bytes": None,
    "total_bytes": None,
    "speed": None,
    "eta": None,
}
# A listed playlist whose failed entries run again: unfinished, without its file.
REOPEN_PLAYLIST = {
    "status": TaskStatus.PROCESSING,
    "error": "",
    "error_code": "",
    "retry_after": None,
    "cancelled": False,
    "file_name": "",
    "finished_at": None,
}


def task_retry(task_id: str) -> Task:
    """Run a failed (or cancelled) task again, under the same id with the same
    parameters. Counted by its key's rate limit like a new task, in the same
    transaction as the change; other states are a 409.

    A listed playlist runs its failed entries again (each counted; refused whole when
    the key's allowance is smaller) and is unfinished until they end; one that never
    listed its entries lists them again. An entry run again reopens its playlist.
    """
    with transaction.atomic():
        task = Task.objects.select_related("api_key").filter(pk=task_id).first()
        if task is None:
            raise exceptions.NotFound("Task not found")
        lock_parent(task)
        if task.is_playlist and task.expanded_at is not None:
            return _retry_playlist_entries(task)
        if task.status != TaskStatus.ERROR:
            raise TaskStateConflict(f"Only failed tasks can be retried; this one is {task.status}")
        task.reserved_bytes = None
        if task.is_playlist:
            check_allowance(task.api_key)  # its entries are counted once listed
            quotas.check_allowance(task.api_key)
        else:
            reserve_task_slot(task.api_key, task.id)
            quotas.reserve(task.api_key, task, quotas.known_size(task.api_key, task))
        reset = Task.objects.filter(pk=task_id, status=TaskStatus.ERROR).update(
            **RETRY_RESET, reserved_bytes=task.reserved_bytes
        )
        if not reset:  # a concurrent retry got there first
            raise TaskStateConflict("The task is being retried already")
        if task.parent_id:
            Task.objects.filter(
                pk=task.parent_id, status__in=[TaskStatus.COMPLETED, TaskStatus.ERROR]
            ).update(**REOPEN_PLAYLIST)
        shutil.rmtree(task_dir(task_id), ignore_errors=True)  # what a failed run left
        transaction.on_commit(lambda: enqueue(task_id))
    task.refresh_from_db()
    logger.info("task %s retried", task_id, extra=log_fields(task))
    return task


def _retry_playlist_entries(task: Task) -> Task:
    """task_retry of a listed playlist, in its transaction."""
    if task.status not in (TaskStatus.COMPLETED, TaskStatus.ERROR):
        raise TaskStateConflict(f"Only failed tasks can be retried; this one is {task.status}")
    failed = list(
        Task.objects.filter(parent_id=task.id, status=TaskStatus.ERROR).values_list("id", flat=True)
    )
    if not failed:
        raise TaskStateConflict("Every entry of the playlist completed; nothing to retry")
    reserve_task_slots(task.api_key, failed)
    quotas.check_allowance(task.api_key)
    Task.objects.filter(pk__in=failed, status=TaskStatus.ERROR).update(**RETRY_RESET)
    Task.objects.filter(pk=task.id).update(**REOPEN_PLAYLIST)
    for child_id in failed:
        shutil.rmtree(task_dir(child_id), ignore_errors=True)
        transaction.on_commit(lambda child_id=child_id: enqueue(child_id))
    task.refresh_from_db()
    logger.info("task %s: %d entries retried", task.id, len(failed), extra=log_fields(task))
    return task


def task_delete(task_id: str) -> None:
    """Cancel the task if it has not finished, then delete it and its files at once.

    A running worker sees the row gone within STOP_CHECK_INTERVAL, kills the work and
    removes what it may have written meanwhile (_discard_cancelled_result).
    """
    with contextlib.suppress(TaskStateConflict):  # finished already
        task_cancel(task_id)
    # A playlist's entries go with it (the foreign key cascades), files included.
    with transaction.atomic():
        entries = list(Task.objects.filter(parent_id=task_id).values_list("id", flat=True))
        Task.objects.filter(pk=task_id).delete()
        storage.forget([task_id, *entries])  # committed with the deletion
    for deleted in [task_id, *entries]:
        shutil.rmtree(task_dir(deleted), ignore_errors=True)
    storage.delete_pending([task_id, *entries])  # what fails, the next cleanup deletes
