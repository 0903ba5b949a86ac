"""A task: what a key asked for, its state and what came of it (its lifecycle is in
downloads_app/lifecycle.py), and the tombstone an expired task leaves."""

import secrets
from datetime import timedelta
from functools import cached_property
from urllib.parse import quote

from django.conf import settings
from django.db import models

from downloads_app.sites import SITE_MAX_LENGTH, site_of
from keys_app.models import APIKey


def new_task_id() -> str:
    # 128 random bits, URL-safe: the id is also the secret of the task's file URL.
    return secrets.token_urlsafe(16)


class TaskType(models.TextChoices):
    GET_VIDEO = "get_video"
    GET_AUDIO = "get_audio"
    GET_LIVE_VIDEO = "get_live_video"
    GET_LIVE_AUDIO = "get_live_audio"
    GET_INFO = "get_info"
    # A group: its run lists the playlist, and each entry becomes a task of its own
    # (get_video or get_audio, the parent's `playlist_type`), a child pointing to it.
    GET_PLAYLIST = "get_playlist"


class TaskStatus(models.TextChoices):
    WAITING = "waiting"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ERROR = "error"


LIVE_TYPES = {TaskType.GET_LIVE_VIDEO, TaskType.GET_LIVE_AUDIO}
AUDIO_TYPES = {TaskType.GET_AUDIO, TaskType.GET_LIVE_AUDIO}
VIDEO_TYPES = {TaskType.GET_VIDEO, TaskType.GET_LIVE_VIDEO}

# The stem of each type's result file; the extension is the result's own
# (video.mp4, audio.mp3, info.json, ...).
FILE_STEMS = {
    TaskType.GET_VIDEO: "video",
    TaskType.GET_AUDIO: "audio",
    TaskType.GET_LIVE_VIDEO: "live_video",
    TaskType.GET_LIVE_AUDIO: "live_audio",
    TaskType.GET_INFO: "info",
    TaskType.GET_PLAYLIST: "playlist",
}
# What a playlist's `type` names: the type of its children.
PLAYLIST_CHILD_TYPES = {"video": TaskType.GET_VIDEO, "audio": TaskType.GET_AUDIO}
# The kinds of a task's extra files (Task.extra_files).
EXTRA_SUBTITLES = "subtitles"
EXTRA_THUMBNAIL = "thumbnail"
# The file of a completed playlist: a ZIP of its children's files, built as it is sent.
PLAYLIST_FILE_NAME = "playlist.zip"
# What a playlist's /status reads of each entry: what it shows of them (`children`), and
# what its progress sums up.
PLAYLIST_ENTRY_FIELDS = (
    "id", "parent_id", "position", "title", "status", "error", "error_code",
    "downloaded_bytes", "total_bytes", "speed",
)  # fmt: skip


TITLE_MAX_LENGTH = 300
CANCELLED = "Cancelled"  # the error of a cancelled task

# What a list of tasks (GET /tasks, its ETag and its long poll) shows of a task, or what
# decides what it shows: a write of any of these gives the task a new `listed_version`.
# A field a list comes to show is added here, and nowhere else.
LISTED_FIELDS = frozenset({
    "api_key", "task_type", "status", "url", "video_format", "audio_format",
    "output_format", "start_time", "end_time", "force_keyframes", "live_start",
    "live_duration", "webhook_url", "playlist_type", "playlist_items", "parent",
    "position", "subscription", "file_name", "title", "error", "error_detail", "error_code",
    "retry_after",
    "cancelled", "downloaded_bytes", "total_bytes", "speed", "eta", "created_at", "started_at",
    "finished_at", "yt_dlp_version", "preset", "filename_template", "library", "library_path",
    "extra_files", "file_size",
})  # fmt: skip
# As an update() or save() may name them (a foreign key also by its column).
LISTED_NAMES = LISTED_FIELDS | {"api_key_id", "parent_id", "subscription_id"}
# What a list shows of a task's latest webhook delivery (`webhook` in /status).
LISTED_DELIVERY_FIELDS = frozenset({"state", "attempts"})


def new_listed_version() -> int:
    """A random version, not a counter or a time: a sum of them over a key's tasks then
    changes whatever happened (a task created as another is deleted cannot cancel out,
    but for a chance of 2**-40), with no clock that machines or transactions must agree
    on. Below 2**40, so that SQLite's sum of a key's cannot overflow."""
    return 1 + secrets.randbelow(2**40 - 1)


class TaskQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """An UPDATE that writes a listed field also gives its rows a new listed_version,
        in the same statement: every conditional UPDATE of the services keeps the list's
        change signal without saying so."""
        if LISTED_NAMES.intersection(kwargs):
            kwargs.setdefault("listed_version", new_listed_version())
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        for task in objs:
            task.site = task.site or site_of(task.url)  # as Task.save does
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        if LISTED_NAMES.intersection(fields):
            for task in objs:
                task.listed_version = new_listed_version()
            fields = [*fields, "listed_version"]
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def running(self) -> "TaskQuerySet":
        """The tasks taking a worker now, as MAX_TASKS_PER_KEY and SITE_CONCURRENCY count
        them. A playlist whose entries were listed is `processing` until they end, but its
        own run is over: its entries count instead."""
        return self.filter(status=TaskStatus.PROCESSING).exclude(
            task_type=TaskType.GET_PLAYLIST, expanded_at__isnull=False
        )

    def mark_changed(self) -> int:
        """A new listed_version for these tasks, when what a list shows of them changed
        elsewhere: their webhook delivery, their key's name."""
        return super().update(listed_version=new_listed_version())


class Task(models.Model):
    """One request of a key: a download, a live recording or a metadata extraction.

    Status transitions, and who makes them (downloads_app/lifecycle.py; the run's end in runner.py,
    recovery in maintenance.py):
        waiting    -> processing   task_claim: a worker took it (a conditional UPDATE,
                                   so a duplicate delivery of the same task does nothing);
                                   while its key runs MAX_TASKS_PER_KEY tasks it stays
                                   waiting, marked `deferred`, and is queued again
                                   (dispatch_next_waiting) when one of them ends; so
                                   while its site runs its SITE_CONCURRENCY tasks, or
                                   backs off after a refusal (site_limits.py)
        processing -> completed    task_run: the file is in place under DOWNLOAD_DIR, or
                                   in the bucket (STORAGE=s3), its size recorded
        processing -> error        task_run: yt-dlp or ffmpeg failed, or the worker
                                   stopped the work at a limit (TASK_TIME_LIMIT,
                                   EXTRACTION_TIMEOUT, STALL_TIMEOUT, MIN_FREE_DISK);
                                   `error` says why
        processing -> waiting      task_recover_interrupted: its worker is gone (a worker
                                   of this host: its process; of another: its heartbeat
                                   went stale) and it has run only once; it is taken
                                   first (its worker renamed), what it left running is
                                   killed and its partial files removed
        processing -> error        task_recover_interrupted: interrupted a second time, or
                                   past TASK_TIME_LIMIT
        waiting    -> error        task_cancel: `cancelled`, error "Cancelled"; the claim
                                   takes only waiting tasks, so it never starts
        processing -> error        task_cancel: as above; the worker's supervision sees
                                   the task move on within a second, kills the work's
                                   process group (ffmpeg included) and removes its files
        processing -> completed    task_cancel with keep (live recordings): only sets
                                   `keep_requested`; the worker stops ffmpeg gracefully
                                   and task_run completes the task with what it recorded
        error      -> waiting      task_retry: the same id and parameters run again
                                   (counted by the rate limit like a new task)
    A playlist (get_playlist) is a parent; its entries are ordinary tasks (children, with
    `parent` and `position`) that move as above. The parent itself:
        waiting    -> processing   task_claim, as any task; its run lists the playlist
        processing -> processing   playlist_expand: the children are created, counted by
                                   the rate limit one request each, all or none, in one
                                   transaction; `expanded_at` is set, the heartbeat cleared
        processing -> error        task_run: the listing failed, or the playlist is larger
                                   than PLAYLIST_MAX_ITEMS or than the key's allowance
        processing -> completed    settle_playlist: its last unfinished child ended and
                                   at least one completed (`file` is the ZIP)
        processing -> error        settle_playlist: its last child ended, every one failed
        waiting/processing -> error task_cancel: the parent and every unfinished child
        completed/error -> processing  task_retry of the parent (its failed children run
                                   again) or of one child
        error      -> waiting      task_retry of a parent that never listed its children
    settle_playlist runs in the transaction that ends a child, after locking the parent's
    row, so of children ending at the same moment exactly the last one settles it.
    Every move out of processing is a conditional UPDATE on the status (and, for the
    worker, on the attempt it claimed), so of a cancel and a completion racing, exactly
    one takes effect. task_delete cancels a task that has not finished, then deletes it
    with its directory at once.
    Finished tasks (completed or error) are deleted with their directory
    TASK_CLEANUP_TIME minutes after finished_at (maintenance.cleanup_expired), which leaves
    a TaskTombstone in their place.
    Each move into completed or error, in the same transaction, creates the task's
    WebhookDelivery when it has a webhook URL (its own, or its key's default).
    """

    id = models.CharField(primary_key=True, max_length=32, default=new_task_id, editable=False)
    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="tasks")
    task_type = models.CharField(max_length=20, choices=TaskType.choices)
    status = models.CharField(
        max_length=20, choices=TaskStatus.choices, default=TaskStatus.WAITING, db_index=True
    )

    # What was asked for.
    url = models.TextField()
    video_format = models.CharField(max_length=500, blank=True)
    audio_format = models.CharField(max_length=500, blank=True)
    output_format = models.CharField(max_length=10, blank=True)  # blank: the source's own
    start_time = models.FloatField(null=True, blank=True)  # clip bounds, seconds
    end_time = models.FloatField(null=True, blank=True)
    force_keyframes = models.BooleanField(default=False)
    live_start = models.FloatField(null=True, blank=True)  # seconds before the live edge
    live_duration = models.FloatField(null=True, blank=True)
    # Where its end is announced; empty: the key's default webhook_url, if any.
    webhook_url = models.TextField(blank=True)
    # A playlist: the type of its children ("get_video", "get_audio") and which entries
    # (yt-dlp's --playlist-items syntax; blank: all).
    playlist_type = models.CharField(max_length=20, blank=True)
    playlist_items = models.CharField(max_length=200, blank=True)
    # An entry of a playlist: its parent, and its position in the playlist (from 1).
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    position = models.PositiveIntegerField(null=True, blank=True)
    # A playlist whose children were created (playlist_expand).
    expanded_at = models.DateTimeField(null=True, blank=True)
    # Started by a subscription's check (subscriptions_app); a deleted subscription
    # leaves its tasks to their own cleanup.
    subscription = models.ForeignKey(
        "subscriptions_app.Subscription",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    # Media-library options of the request (issue 25): subtitles, what is embedded in the
    # file, SponsorBlock; {} is every default.
    media_options = models.JSONField(default=dict, blank=True)
    # The file's name as a template of the safe subset (e.g. "%(title)s [%(id)s]");
    # blank: the default name.
    filename_template = models.CharField(max_length=300, blank=True)
    library = models.BooleanField(default=False)  # also placed under LIBRARY_DIR
    preset = models.CharField(max_length=100, blank=True)  # the preset it was asked with

    # What came of it.
    file_name = models.CharField(max_length=255, blank=True)
    # Its size in bytes, recorded as the task completes: with STORAGE=s3 the web side has
    # no disk to read it from (/status, the playlist's ZIP, /files' ranges).
    file_size = models.BigIntegerField(null=True, blank=True)
    # Files published beside `file_name` under /files/<id>/<name>: [{"name", "size",
    # "kind"}], a kind being "subtitles" or "thumbnail".
    extra_files = models.JSONField(default=list, blank=True)
    # Where the file was placed in the library, relative to LIBRARY_DIR; blank: nowhere.
    library_path = models.TextField(blank=True)
    # The media's title, as yt-dlp reported it (cut to its length): the name a client
    # saves the file under (Content-Disposition), never a path on disk.
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    # The yt-dlp that ran the task (set as its run starts; ytdlp_versions.loaded_version).
    yt_dlp_version = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)  # for the user (downloads_app/errors.py)
    # yt-dlp's own message behind `error`; blank when the error is the service's own.
    error_detail = models.TextField(blank=True)
    # Why it failed, for a program: an errors.ErrorCode (blank: not failed, or failed
    # before codes existed; no `choices`, so that a new code needs no migration). And the
    # seconds a client should wait before trying again, when the site said or the code
    # implies it (errors.classify).
    error_code = models.CharField(max_length=32, blank=True, default="")
    retry_after = models.PositiveIntegerField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)  # ended by task_cancel (status error)
    # A live recording asked to stop early and keep what it has (task_cancel with keep).
    keep_requested = models.BooleanField(default=False)
    downloaded_bytes = models.BigIntegerField(null=True, blank=True)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    speed = models.FloatField(null=True, blank=True)  # bytes per second
    # Bytes of the byte quotas held for it: its known size, reserved when it was submitted
    # (or retried) and given back as its worker counts what it writes (quotas.py). Counted
    # only while it is waiting or processing, so no end of a task has to release it.
    reserved_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    eta = models.FloatField(null=True, blank=True)  # seconds

    # How it is being run: claims so far, the worker's last sign of life, and who it is.
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)  # host:pid (processes.worker_name)
    queued_at = models.DateTimeField(null=True, blank=True)
    # Left waiting by a claim because its key ran MAX_TASKS_PER_KEY tasks, or its site its
    # SITE_CONCURRENCY tasks or backed off: no queue message is out for it until one of
    # those ends, or the backoff (lifecycle.dispatch_next_waiting).
    deferred = models.BooleanField(default=False)
    # The registrable domain of `url` (sites.py), set when the row is first written.
    site = models.CharField(max_length=SITE_MAX_LENGTH, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The change signal of every list of tasks: new at each write of a LISTED_FIELDS
    # field (TaskQuerySet.update, save), of the latest webhook delivery, of the key's
    # name. The /tasks ETag digests those of its page; its long poll wakes a key's
    # waiters when the sum of the key's changes (listing.py).
    listed_version = models.BigIntegerField(default=new_listed_version, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Related objects and cascades go through TaskQuerySet too.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["api_key", "created_at"], name="task_key_created"),
            # The long poll's sum of a key's versions, read from the index alone.
            models.Index(fields=["api_key", "listed_version"], name="task_key_listed_version"),
            # A claim counts its site's running tasks; an end finds its deferred ones.
            models.Index(fields=["site", "status"], name="task_site_status"),
        ]

    def __str__(self):
        return f"{self.task_type} {self.id}"

    def save(self, *args, **kwargs):
        self.site = self.site or site_of(self.url)
        update_fields = kwargs.get("update_fields")
        if update_fields is None or LISTED_NAMES.intersection(update_fields):
            self.listed_version = new_listed_version()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "listed_version"}
        super().save(*args, **kwargs)

    @property
    def is_live(self):
        return self.task_type in LIVE_TYPES

    @property
    def is_audio(self):
        return self.task_type in AUDIO_TYPES

    @property
    def is_playlist(self):
        return self.task_type == TaskType.GET_PLAYLIST

    @property
    def starting_permission(self) -> str:
        """The permission that starts a task like this one (and so runs it again): its
        type's; a playlist's is its entries' type's, as for POST /get_playlist."""
        return self.playlist_type if self.is_playlist else self.task_type

    @property
    def file_stem(self):
        return FILE_STEMS[self.task_type]

    @property
    def file_url(self):
        """The file's URL path, its name percent-encoded: a name from a `filename`
        template may hold a space, `#` or `%`."""
        return self.url_of(self.file_name) if self.file_name else None

    def url_of(self, name: str) -> str:
        """The URL path of one of the task's published files."""
        return f"/files/{self.id}/{quote(name)}"

    def published_names(self) -> set[str]:
        """The names /files/<id>/<name> serves of a completed task (the view and its fast
        route both ask here): its file, and the extra files beside it (subtitles, its
        thumbnail)."""
        if self.status != TaskStatus.COMPLETED or not self.file_name:
            return set()
        return {self.file_name, *(extra["name"] for extra in self.extra_files or ())}

    def extra_file_size(self, name: str) -> int | None:
        """The size of the extra file `name`, as the worker measured it; None: no such one."""
        return next((e["size"] for e in self.extra_files or () if e["name"] == name), None)

    @property
    def published_extra_files(self) -> list[dict]:
        """extra_files as /status shows them: each with its URL path (`file`)."""
        return [{**extra, "file": self.url_of(extra["name"])} for extra in self.extra_files or ()]

    @property
    def thumbnail_url(self) -> str | None:
        """The URL path of the task's saved thumbnail; None when it has none."""
        for extra in self.extra_files or ():
            if extra.get("kind") == EXTRA_THUMBNAIL:
                return self.url_of(extra["name"])
        return None

    @property
    def expires_at(self):
        """When cleanup removes the task with its files (maintenance.cleanup_expired):
        TASK_CLEANUP_TIME after it finished. An entry of a playlist goes with its
        playlist, so after the playlist finished; None until then."""
        finished_at = self.parent.finished_at if self.parent_id else self.finished_at
        if finished_at is None:
            return None
        return finished_at + timedelta(minutes=settings.TASK_CLEANUP_TIME)

    @cached_property
    def webhook_delivery(self):
        """The delivery of the task's latest event, or None (no webhook, or not ended)."""
        if self.status not in (TaskStatus.COMPLETED, TaskStatus.ERROR):
            return None  # events are sent only when a task ends
        # The delivery is a model of webhooks.py, which imports this module.
        from downloads_app.models.webhooks import WebhookDelivery

        return WebhookDelivery.objects.filter(task_id=self.id).order_by("-created_at").first()

    @cached_property
    def playlist_entries(self) -> list["Task"]:
        """A playlist's entries in playlist order, each read with only what its /status
        shows of them and needs for its progress (PLAYLIST_ENTRY_FIELDS). GET /tasks sets
        this for a whole page in one query (listing.read_playlist_entries)."""
        if not self.is_playlist:
            return []
        return list(self.children.only(*PLAYLIST_ENTRY_FIELDS).order_by("position"))

    @property
    def playlist_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(TaskStatus.values, 0)
        for entry in self.playlist_entries:
            counts[entry.status] += 1
        return counts

    @property
    def playlist_progress(self) -> dict:
        """A playlist's progress in the shape of a task's: `percent` of its entries done
        (an entry that ended counts whole, a running one by its bytes so far), the bytes
        and speed of the running ones summed; sizes and time left are not known."""
        entries, done = self.playlist_entries, 0.0
        running = [entry for entry in entries if entry.status == TaskStatus.PROCESSING]
        for entry in entries:
            if entry.status in (TaskStatus.COMPLETED, TaskStatus.ERROR):
                done += 1
            elif entry.status == TaskStatus.PROCESSING:
                done += (entry.percent or 0) / 100
        return {
            "downloaded_bytes": sum(entry.downloaded_bytes or 0 for entry in running),
            "total_bytes": None,
            "percent": round(100 * done / len(entries), 1) if entries else None,
            "speed": sum(entry.speed or 0 for entry in running),
            "eta": None,
        }

    @property
    def percent(self):
        if self.downloaded_bytes is None or not self.total_bytes:
            return None
        return round(100 * self.downloaded_bytes / self.total_bytes, 1)


class TaskTombstone(models.Model):
    """What is left of a task that cleanup deleted: enough to answer 410 ("expired")
    rather than 404 ("never existed") to its key, for TASK_TOMBSTONE_DAYS.

    Written by maintenance.cleanup_expired only: a task deleted on purpose leaves none, and
    answers 404. Deleted by the same cleanup once older than TASK_TOMBSTONE_DAYS.
    """

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    expired_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"expired task {self.id}"
