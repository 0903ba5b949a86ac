"""What the task endpoints answer: output serializers that build the bodies and, the same
classes, describe them in the OpenAPI schema (/openapi.json), so the two cannot differ.
"""

from rest_framework import serializers
from rest_framework.fields import SkipField

from downloads_app import storage
from downloads_app.errors import ErrorCode
from downloads_app.models import (
    AUDIO_TYPES,
    EXTRA_SUBTITLES,
    EXTRA_THUMBNAIL,
    LIVE_TYPES,
    VIDEO_TYPES,
    TaskStatus,
    TaskType,
    WebhookState,
)
from downloads_app.sponsorblock import SponsorBlockStatusField
from keys_app.schema import PermissionField

CLIP_TYPES = {TaskType.GET_VIDEO, TaskType.GET_AUDIO}
# What /status adds in each state: the file's URL, the error, or the progress.
STATUS_FIELDS = {
    TaskStatus.COMPLETED: ("file", "file_size", "thumbnail", "extra_files", "expires_at"),
    TaskStatus.ERROR: ("error", "error_detail", "error_code", "retry_after", "expires_at"),
    TaskStatus.PROCESSING: ("progress",),
}


class TaskCreatedOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices, help_text="Always `waiting`.")
    task_id = serializers.CharField()

    class Meta:
        ref_name = "TaskCreated"


class ProgressOutput(serializers.Serializer):
    downloaded_bytes = serializers.IntegerField(allow_null=True)
    total_bytes = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    speed = serializers.FloatField(allow_null=True, help_text="Bytes per second.")
    eta = serializers.FloatField(allow_null=True, help_text="Seconds.")

    class Meta:
        ref_name = "Progress"


class WebhookOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=WebhookState.choices,
        help_text="`pending` until an attempt gets a 2xx answer (`delivered`) or "
        "WEBHOOK_MAX_ATTEMPTS attempts did not (`failed`).",
    )
    attempts = serializers.IntegerField(help_text="Attempts made so far.")

    class Meta:
        ref_name = "WebhookDeliveryState"


def optional(field_class, **kwargs):
    return field_class(required=False, **kwargs)


class ExtraFileOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The file's name in the task's folder.")
    size = serializers.IntegerField(help_text="Bytes.")
    kind = serializers.ChoiceField(
        choices=[EXTRA_SUBTITLES, EXTRA_THUMBNAIL],
        help_text="`subtitles` (a language's subtitles, not embedded in the file) or "
        "`thumbnail` (the media's thumbnail as a JPEG).",
    )
    file = serializers.CharField(help_text="Its URL path, served as `file` is.")

    class Meta:
        ref_name = "ExtraFile"


class PlaylistCountsOutput(serializers.Serializer):
    waiting = serializers.IntegerField()
    processing = serializers.IntegerField()
    completed = serializers.IntegerField()
    error = serializers.IntegerField(help_text="Failed or cancelled.")

    class Meta:
        ref_name = "PlaylistCounts"


def error_code_field(**kwargs):
    return optional(
        serializers.ChoiceField,
        choices=ErrorCode.choices,
        allow_null=True,
        help_text="When failed: why, for a program (docs/api.md#error-codes); null for a "
        "task that failed before codes existed.",
        **kwargs,
    )


class PlaylistEntryOutput(serializers.Serializer):
    task_id = serializers.CharField(source="id", help_text="An ordinary task: its own /status.")
    position = serializers.IntegerField(help_text="In the playlist, from 1.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    error = optional(serializers.CharField, help_text="When failed: why.")
    error_code = error_code_field()

    class Meta:
        ref_name = "PlaylistEntry"

    def to_representation(self, entry):
        body = super().to_representation(entry)
        if entry.status != TaskStatus.ERROR:
            body.pop("error")
            body.pop("error_code")
        else:
            body["error_code"] = body["error_code"] or None  # "": failed before codes
        return body


class FileSizeField(serializers.IntegerField):
    """The size of a completed task's file (only for completed tasks, the ones that show
    it): storage.file_size, from the disk or, with a bucket, the database."""

    def to_representation(self, task):
        if task.status != TaskStatus.COMPLETED or not task.file_name:
            return None
        return storage.file_size(task)


class TaskStatusOutput(serializers.Serializer):
    """/status: the fields of the task's type; `file`, `error` and `progress` by status.

    A playlist (get_playlist) shows its `type`, `items`, `title`, `counts` and
    `children`; its `progress` sums up its entries' (Task.playlist_progress). Its entries
    are ordinary tasks that also show their `playlist` and `position`.
    """

    status = serializers.ChoiceField(choices=TaskStatus.choices)
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    url = serializers.CharField()
    title = serializers.CharField(
        allow_null=True,
        help_text="The media's title once a worker has read it (get_playlist: the "
        "playlist's, once listed); null until then.",
    )
    video_format = optional(serializers.CharField, help_text="Video tasks.")
    audio_format = optional(serializers.CharField, help_text="Every type but get_info.")
    output_format = optional(
        serializers.CharField,
        allow_null=True,
        help_text="Every type but get_info; null: the source's own format.",
    )
    start_time = optional(
        serializers.FloatField, allow_null=True, help_text="get_video, get_audio."
    )
    end_time = optional(serializers.FloatField, allow_null=True, help_text="get_video, get_audio.")
    force_keyframes = optional(serializers.BooleanField, help_text="get_video, get_audio.")
    sponsorblock = SponsorBlockStatusField(
        help_text="get_video, get_audio, get_playlist: the `sponsorblock` option, its "
        "aliases resolved to categories; null: none."
    )
    start = optional(
        serializers.FloatField, source="live_start", allow_null=True, help_text="Live tasks."
    )
    duration = optional(
        serializers.FloatField, source="live_duration", allow_null=True, help_text="Live tasks."
    )
    file = optional(
        serializers.CharField,
        source="file_url",
        allow_null=True,
        help_text="When completed: the file's URL path.",
    )
    file_size = optional(
        FileSizeField, source="*", help_text="When completed: the file's size in bytes."
    )
    filename = optional(
        serializers.CharField,
        source="filename_template",
        allow_null=True,
        help_text="get_video, get_audio, get_playlist: the `filename` template asked for; "
        "null: the default name.",
    )
    library = optional(
        serializers.BooleanField,
        help_text="Every type but get_info: whether the file is also placed in the library.",
    )
    library_path = serializers.CharField(
        allow_null=True,
        help_text="Where the file was placed in the library, relative to the library "
        "folder (LIBRARY_DIR), `/`-separated; null when not placed (not asked for, not "
        "finished, failed, a playlist itself: its entries are placed).",
    )
    thumbnail = optional(
        serializers.CharField,
        source="thumbnail_url",
        allow_null=True,
        help_text="When completed: the URL path of the media's thumbnail (a JPEG) in the "
        "form of `file`; null when it has none.",
    )
    extra_files = ExtraFileOutput(
        source="published_extra_files",
        many=True,
        required=False,
        help_text="When completed: the files published beside `file` (subtitles not "
        "embedded in it, the thumbnail), each served from its own `file` URL path.",
    )
    error = optional(serializers.CharField, help_text="When failed: why.")
    error_detail = optional(
        serializers.CharField,
        allow_null=True,
        help_text="When failed: yt-dlp's own message behind `error`; null when the error is "
        "the service's own.",
    )
    error_code = error_code_field()
    retry_after = optional(
        serializers.IntegerField,
        allow_null=True,
        help_text="When failed: seconds to wait before trying again, as the site said (its "
        "Retry-After) or the code implies (`rate_limited`: 60 when the site did not say); "
        "null when waiting would not help or nothing is known.",
    )
    cancelled = serializers.BooleanField(
        help_text='Ended by POST /cancel (then `status` is `error`, `error` is "Cancelled").'
    )
    yt_dlp_version = optional(
        serializers.CharField,
        help_text="Once a worker has started the task: the version of yt-dlp that runs it "
        "(yt-dlp is updated at runtime; YTDLP_UPDATE).",
    )
    progress = ProgressOutput(source="*", required=False, help_text="While processing.")
    task_id = serializers.CharField(source="id")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = optional(
        serializers.DateTimeField,
        allow_null=True,
        help_text="When finished: when the task and its file are removed (TASK_CLEANUP_TIME "
        "after finished_at; an entry of a playlist with its playlist, null until the "
        "playlist has finished).",
    )
    type = optional(
        serializers.ChoiceField,
        choices=["video", "audio"],
        source="playlist_type",
        help_text="get_playlist: what each entry is (a get_video or get_audio task).",
    )
    items = optional(
        serializers.CharField,
        source="playlist_items",
        allow_null=True,
        help_text="get_playlist: the entries asked for (`--playlist-items`); null: all.",
    )
    counts = PlaylistCountsOutput(
        source="playlist_counts", required=False, help_text="get_playlist: entries by status."
    )
    children = PlaylistEntryOutput(
        source="playlist_entries",
        many=True,
        required=False,
        help_text="get_playlist: its entries, in playlist order, once listed.",
    )
    playlist = optional(
        serializers.CharField,
        source="parent_id",
        help_text="An entry of a playlist: the playlist's task_id.",
    )
    position = optional(
        serializers.IntegerField, help_text="An entry of a playlist: its position, from 1."
    )
    subscription = optional(
        serializers.CharField,
        source="subscription_id",
        help_text="A task a subscription started: the subscription's subscription_id.",
    )
    preset = optional(
        serializers.CharField,
        help_text="A task asked for with a preset (its own `preset`, or its subscription's): "
        "the preset's name, as it was then.",
    )
    webhook = WebhookOutput(
        source="webhook_delivery",
        required=False,
        help_text="Once the task has ended, when it has a webhook URL: the delivery of its event.",
    )

    class Meta:
        ref_name = "TaskStatus"

    def to_representation(self, task):
        shown = self.fields_of(task)
        body = self.represent_fields(task, shown)
        if "output_format" in body:
            body["output_format"] = body["output_format"] or None  # "": the source's own
        if "filename" in body:
            body["filename"] = body["filename"] or None  # "": the default name
        body["library_path"] = body["library_path"] or None  # "": not placed
        if "error_detail" in body:
            body["error_detail"] = body["error_detail"] or None  # "": the error is our own
            body["error_code"] = body["error_code"] or None  # "": failed before codes
        if "type" in body:
            body["type"] = "audio" if task.playlist_type in AUDIO_TYPES else "video"
            body["items"] = body["items"] or None
        if "progress" in body and task.task_type == TaskType.GET_PLAYLIST:
            body["progress"] = task.playlist_progress
        body["title"] = body["title"] or None  # "": not known yet
        return {name: value for name, value in body.items() if name in shown}

    def represent_fields(self, task, shown: set[str]) -> dict:
        """Serializer.to_representation for the fields in `shown` only, in their declared
        order: a task shows about a third of the fields, and /status, the most frequent
        request, would spend most of its time on the others."""
        if self._field_order is None:
            self._field_order = list(self._readable_fields)
        body = {}
        for field in self._field_order:
            if field.field_name not in shown:
                continue
            try:
                attribute = field.get_attribute(task)
            except SkipField:
                continue
            body[field.field_name] = (
                None if attribute is None else field.to_representation(attribute)
            )
        return body

    _field_order = None

    @staticmethod
    def fields_of(task) -> set[str]:
        """The fields a task of this type and status shows."""
        shown = {"status", "task_type", "url", "title", "task_id", "created_at", "started_at"}
        shown.add("cancelled")
        shown.add("finished_at")
        shown.add("library_path")
        if task.task_type != TaskType.GET_INFO:
            shown.add("library")
        if task.task_type in VIDEO_TYPES:
            shown.add("video_format")
        if task.task_type in AUDIO_TYPES | VIDEO_TYPES:
            shown |= {"audio_format", "output_format"}
        if task.task_type in CLIP_TYPES:
            shown |= {"start_time", "end_time", "force_keyframes", "filename", "sponsorblock"}
        if task.task_type in LIVE_TYPES:
            shown |= {"start", "duration"}
        if task.task_type == TaskType.GET_PLAYLIST:
            shown |= {"type", "items", "counts", "children", "output_format"}
            shown |= {"audio_format", "start_time", "end_time", "force_keyframes", "filename"}
            shown.add("sponsorblock")
            if task.playlist_type in VIDEO_TYPES:
                shown.add("video_format")
        if task.parent_id:
            shown |= {"playlist", "position"}
        if task.subscription_id:
            shown.add("subscription")
        if task.preset:
            shown.add("preset")
        shown.update(STATUS_FIELDS.get(task.status, ()))
        if task.webhook_delivery is not None:
            shown.add("webhook")
        if task.yt_dlp_version:
            shown.add("yt_dlp_version")
        return shown


class QuotaAllowanceOutput(serializers.Serializer):
    """One byte quota as it stands (quotas.Allowance)."""

    limit = serializers.IntegerField(help_text="Bytes per QUOTA_WINDOW.")
    used = serializers.IntegerField(
        help_text="Bytes written by downloads in the window, plus those reserved by "
        "waiting or running tasks of a known size."
    )
    remaining = serializers.IntegerField(help_text="Bytes left now.")
    reset = serializers.IntegerField(
        help_text="Seconds until more is left (the oldest counted bytes leave the rolling "
        "window; used up: until some fit again); 0 when nothing counts."
    )
    reset_at = serializers.DateTimeField(allow_null=True, help_text="The same, as a time.")

    class Meta:
        ref_name = "QuotaAllowance"


class QuotaOutput(serializers.Serializer):
    """/me's `quota`: the key's byte quota and the server's."""

    window = serializers.FloatField(help_text="QUOTA_WINDOW: the rolling window, in minutes.")
    key = QuotaAllowanceOutput(
        allow_null=True, help_text="The key's own quota_bytes; null: it has none."
    )
    server = QuotaAllowanceOutput(
        allow_null=True, help_text="TOTAL_QUOTA_BYTES, every key's together; null: none."
    )

    class Meta:
        ref_name = "Quota"


class MeOutput(serializers.Serializer):
    """/me: the calling key, where it stands in its rate-limit window and its byte quotas;
    no secret."""

    name = serializers.CharField()
    permissions = serializers.ListField(child=PermissionField())
    request_limit = serializers.IntegerField(
        allow_null=True,
        help_text="Task-creating requests per TASK_CLEANUP_TIME window (the key's own "
        "request_limit, or REQUEST_LIMIT); null: no limit.",
    )
    remaining = serializers.IntegerField(
        allow_null=True, help_text="Of those, how many are left now; null: no limit."
    )
    reset = serializers.IntegerField(
        help_text="Seconds until one more request is available again (the oldest request "
        "that counts leaves the sliding window); 0 when none counts. As RateLimit-Reset."
    )
    reset_at = serializers.DateTimeField(allow_null=True, help_text="The same, as a time.")
    quota = QuotaOutput(help_text="The byte quotas its downloads count against.")

    class Meta:
        ref_name = "Me"


class TaskListEntryOutput(TaskStatusOutput):
    """A task of GET /tasks: its /status body, and its key's name with `all=true`."""

    key_name = optional(
        serializers.CharField, source="api_key.name", help_text="With `all=true` only."
    )

    class Meta:
        ref_name = "TaskListEntry"

    def to_representation(self, task):
        body = super().to_representation(task)
        if self.context.get("with_key_name"):
            body["key_name"] = task.api_key.name
        return body


class TaskListOutput(serializers.Serializer):
    tasks = TaskListEntryOutput(many=True, help_text="Newest first.")
    next = serializers.CharField(
        allow_null=True, help_text="The `cursor` of the next page; null on the last page."
    )

    class Meta:
        ref_name = "TaskList"


class TaskDeletedOutput(serializers.Serializer):
    message = serializers.CharField()
    task_id = serializers.CharField()

    class Meta:
        ref_name = "TaskDeleted"


class PresetOutput(serializers.Serializer):
    name = serializers.CharField(help_text="What a request's `preset` names.")
    description = serializers.CharField(help_text="The operator's words on it; may be empty.")
    task_type = serializers.ChoiceField(
        choices=TaskType.choices, help_text="The endpoint it is for."
    )
    options = serializers.DictField(
        help_text="The request fields it sets, as a request of its type would send them; "
        "a field the request gives wins."
    )

    class Meta:
        ref_name = "Preset"


class PresetListOutput(serializers.Serializer):
    presets = PresetOutput(many=True, help_text="Sorted by name.")

    class Meta:
        ref_name = "PresetList"
