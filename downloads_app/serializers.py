"""Input of the task endpoints (one serializer each) and the /status output.

`manage.py import_legacy` checks yt-dlp-host's tasks with the same serializers, with two
context flags: `resolve_hosts: False` leaves out the DNS lookup of the URL's host (its
scheme and a literal address are still checked), and `finished: True` marks the record
of a task that ended there and never runs here, so only the rules on what it asked for
apply, not those on what may run (URL policy, clip order, live duration).
"""

import base64
import json
import re
from datetime import datetime

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from downloads_app import known_length, naming, sponsorblock, timecodes, url_policy, ytdlp_options
from downloads_app.media_options import MediaOptionsMixin
from downloads_app.models import (
    PLAYLIST_CHILD_TYPES,
    PRESET_NAME_MAX_LENGTH,
    TaskStatus,
    TaskType,
)
from downloads_app.request_fields import StrictBooleanField
from downloads_app.schema import TaskStatusOutput
from downloads_app.sponsorblock import SponsorBlockField

VIDEO_OUTPUT_FORMATS = ("mp4", "mkv", "webm", "avi", "mov", "flv", "3gp")
AUDIO_OUTPUT_FORMATS = ("mp3", "m4a", "opus", "flac", "wav", "aac", "ogg")
MAX_URL_LENGTH = 2048
MAX_SELECTOR_LENGTH = 500
# yt-dlp compiles the value of a `~=` filter (`!~=` negated) as a regular expression and
# runs it on each format's fields (YoutubeDL._build_format_filter): a pattern such as
# `(a+)+!` backtracks for minutes, holding the GIL. It is the only filter operator that
# takes a regex (the others compare numbers or plain strings), and its spelling has no
# variant, so refusing the two characters refuses every regex filter.
REGEX_FILTER_OPERATOR = "~="
# "720p", "1080p60": a height as people write it, which yt-dlp would read as a format id
# or an extension that no format has.
VIDEO_HEIGHT = re.compile(r"(\d{3,4})p(?:\d{2,3})?", re.IGNORECASE)
SELECTOR_EXAMPLES = {
    "video_format": "bestvideo[height<=720]",
    "audio_format": "bestaudio[abr<=160]",
}


@extend_schema_field({"type": "string", "format": "uri", "maxLength": MAX_URL_LENGTH})
class TaskURLField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_URL_LENGTH, trim_whitespace=True, **kwargs)

    def to_internal_value(self, data):
        url = super().to_internal_value(data)
        if self.context.get("finished"):
            return url
        try:
            url_policy.check_url(url, resolve_host=self.context.get("resolve_hosts", True))
        except url_policy.URLNotAllowed as exc:
            raise serializers.ValidationError(str(exc)) from None
        return url


@extend_schema_field(
    {
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "description": 'Seconds ("90", "12.5"), "MM:SS" or "HH:MM:SS".'},
        ],
    }
)
class SecondsField(serializers.Field):
    """A time as seconds; accepts numbers, numeric strings, "MM:SS" and "HH:MM:SS"."""

    def to_internal_value(self, data):
        try:
            return timecodes.parse_seconds(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_SELECTOR_LENGTH,
        "pattern": r"^[^\x00-\x1f]*$",
        "description": "A yt-dlp format selector. Regular-expression filters (`~=`, `!~=`) "
        "are refused.",
    }
)
class SelectorField(serializers.CharField):
    """A yt-dlp format selector such as `bestvideo[height<=1080]`."""

    def __init__(self, default, **kwargs):
        super().__init__(max_length=MAX_SELECTOR_LENGTH, default=default, **kwargs)

    def to_internal_value(self, data):
        selector = super().to_internal_value(data)
        if len(selector) > MAX_SELECTOR_LENGTH:
            raise serializers.ValidationError(f"must be at most {MAX_SELECTOR_LENGTH} characters")
        if any(ord(c) < 32 for c in selector):
            raise serializers.ValidationError("must not contain control characters")
        if REGEX_FILTER_OPERATOR in selector:
            raise serializers.ValidationError(
                "must not use regular-expression filters (~=); use =, ^=, $= or *= instead"
            )
        if self.context.get("finished"):  # a record of what ran elsewhere: never parsed here
            return selector
        if height := VIDEO_HEIGHT.fullmatch(selector):
            raise serializers.ValidationError(
                f'"{selector}" is not a format selector; for video at most {height[1]} pixels '
                f'high, use "bestvideo[height<={height[1]}]"'
            )
        try:
            ytdlp_options.check_format_selector(selector)
        except ValueError as exc:
            example = SELECTOR_EXAMPLES.get(self.field_name, SELECTOR_EXAMPLES["video_format"])
            raise serializers.ValidationError(
                f'is not a yt-dlp format selector ({exc}); for example "{example}"'
            ) from None
        return selector


@extend_schema_field(
    {
        "type": "string",
        "format": "uri",
        "maxLength": MAX_URL_LENGTH,
        "description": "Where the task's end (task.completed, task.failed, task.cancelled) "
        "is sent, signed per Standard Webhooks with the key's `whsec_` secret: an http or "
        "https URL the server may reach. Absent: the key's default webhook_url, if any.",
    }
)
class WebhookURLField(TaskURLField):
    """Checked as task URLs are, when the request arrives; every connection of its
    deliveries is checked again (webhooks.py)."""


class TaskInput(serializers.Serializer):
    task_type: TaskType
    url = TaskURLField()
    webhook_url = WebhookURLField(required=False)
    # Applied before this serializer sees the body (presets.with_preset), which refuses
    # an unknown name; kept as the task's `preset`.
    preset = serializers.CharField(
        required=False,
        max_length=PRESET_NAME_MAX_LENGTH,
        help_text="The name of a preset of this task type (GET /presets): its options "
        "apply, and the fields this request gives win over them.",
    )


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": naming.MAX_TEMPLATE_LENGTH,
        "example": "%(title)s [%(id)s]",
        "description": "The file's name, as a template of a safe subset of yt-dlp's output "
        f"template: %(field)s with a field of {', '.join(naming.FIELDS)}; "
        "%(upload_date>%Y-%m-%d)s; %(playlist_index)03d; %(field|default)s; %%. The file's "
        "extension ends it whatever the template says. Absent: the default name "
        "(video.mp4, audio.mp3). docs/api.md#file-names.",
    }
)
class FilenameTemplateField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=naming.MAX_TEMPLATE_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        template = super().to_internal_value(data)
        try:
            naming.parse(template)
        except naming.TemplateError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return template


LIBRARY_HELP = (
    "Also place the finished file in the server's library folder (LIBRARY_DIR), named by "
    "LIBRARY_TEMPLATE, kept after the task's cleanup; /status then gives `library_path`. "
    "Needs the permission `library` (403 without it) and a server with LIBRARY_DIR set "
    "(400 otherwise)."
)


# No docstring: the OpenAPI schema would show it as each endpoint's body's description.
class LibraryMixin(serializers.Serializer):
    # `library`: the key needs the permission `library`, the server a LIBRARY_DIR.
    library = StrictBooleanField(default=False, help_text=LIBRARY_HELP)

    def validate_library(self, value):
        # A preset may put its files in the library whether or not this server has one
        # (docs/presets.json loads on any server): a request naming it is checked here.
        if not value or self.context.get("finished") or self.context.get("preset"):
            return value
        if settings.LIBRARY_DIR is None:
            raise serializers.ValidationError("this server has no library folder (LIBRARY_DIR)")
        api_key = self.context.get("api_key")
        if api_key is not None and not api_key.allows("library"):
            raise exceptions.PermissionDenied("`library: true` needs the permission `library`.")
        return value


class NamingMixin(LibraryMixin):
    filename = FilenameTemplateField(required=False)


# No docstring: the OpenAPI schema would show it as each endpoint's body's description.
# The media options (media_options.py), and SponsorBlock's (sponsorblock.py, a step of its
# own) kept beside them in Task.media_options.
class MediaMixin(MediaOptionsMixin):
    sponsorblock = SponsorBlockField()

    def validate(self, data):
        blocks = data.pop("sponsorblock", None)
        data = super().validate(data)
        data["media_options"].update(sponsorblock.media_options(blocks))
        return data


class ClipMixin(serializers.Serializer):
    start_time = SecondsField(required=False)
    end_time = SecondsField(required=False)
    force_keyframes = StrictBooleanField(default=False)

    def validate(self, data):
        data = super().validate(data)  # the other mixins' (MediaMixin)
        start, end = data.get("start_time"), data.get("end_time")
        if self.context.get("finished"):
            return data
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError("end_time must be after start_time")
        if start and (api_key := self.context.get("api_key")):
            length = known_length.known_length(api_key, data["url"])
            if outside := timecodes.clip_outside_media(start, length):
                raise serializers.ValidationError({"start_time": [outside]})
        return data


class LiveMixin(serializers.Serializer):
    start = SecondsField(default=0.0)
    duration = SecondsField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.context.get("finished"):
            self.fields["duration"].required = False

    def validate_duration(self, value):
        if self.context.get("finished"):
            return value
        if value <= 0:
            raise serializers.ValidationError("must be a positive number of seconds")
        if value > settings.LIVE_MAX_DURATION:
            raise serializers.ValidationError(
                f"must be at most {settings.LIVE_MAX_DURATION:g} seconds (LIVE_MAX_DURATION)"
            )
        return value


def output_format_field(choices):
    return serializers.ChoiceField(
        choices=choices,
        required=False,
        allow_null=True,
        error_messages={"invalid_choice": f"must be one of {', '.join(choices)}"},
    )


class GetVideoInput(ClipMixin, NamingMixin, TaskInput, MediaMixin):
    task_type = TaskType.GET_VIDEO
    video_format = SelectorField(default="bestvideo")
    audio_format = SelectorField(default="bestaudio")
    output_format = output_format_field(VIDEO_OUTPUT_FORMATS)


class GetAudioInput(ClipMixin, NamingMixin, TaskInput, MediaMixin):
    task_type = TaskType.GET_AUDIO
    audio_format = SelectorField(default="bestaudio")
    output_format = output_format_field(AUDIO_OUTPUT_FORMATS)


class GetLiveVideoInput(LiveMixin, LibraryMixin, TaskInput):
    task_type = TaskType.GET_LIVE_VIDEO
    video_format = SelectorField(default="bestvideo")
    audio_format = SelectorField(default="bestaudio")
    output_format = output_format_field(VIDEO_OUTPUT_FORMATS)


class GetLiveAudioInput(LiveMixin, LibraryMixin, TaskInput):
    task_type = TaskType.GET_LIVE_AUDIO
    audio_format = SelectorField(default="bestaudio")
    output_format = output_format_field(AUDIO_OUTPUT_FORMATS)


class GetInfoInput(TaskInput):
    task_type = TaskType.GET_INFO


@extend_schema_field(
    {
        "type": "string",
        "maxLength": 200,
        "description": "Which entries, in yt-dlp's --playlist-items syntax: positions from 1 "
        'and ranges, comma-separated ("1-5,8", "-3:" for the last three). Absent: all, at '
        "most PLAYLIST_MAX_ITEMS.",
    }
)
class PlaylistItemsField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=200, **kwargs)

    def to_internal_value(self, data):
        items = super().to_internal_value(data)
        try:
            ytdlp_options.check_playlist_items(items)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return items


class GetPlaylistInput(ClipMixin, NamingMixin, TaskInput, MediaMixin):
    """A playlist: each entry becomes a task of `type`, with these options."""

    task_type = TaskType.GET_PLAYLIST
    type = serializers.ChoiceField(
        choices=list(PLAYLIST_CHILD_TYPES),
        error_messages={"invalid_choice": "must be video or audio"},
        help_text="What each entry becomes: a get_video or a get_audio task.",
    )
    items = PlaylistItemsField(required=False)
    video_format = SelectorField(default="bestvideo", help_text="type video only.")
    audio_format = SelectorField(default="bestaudio")
    output_format = serializers.ChoiceField(
        choices=sorted({*VIDEO_OUTPUT_FORMATS, *AUDIO_OUTPUT_FORMATS}),
        required=False,
        allow_null=True,
        help_text=f"type video: {', '.join(VIDEO_OUTPUT_FORMATS)}; type audio: "
        f"{', '.join(AUDIO_OUTPUT_FORMATS)}.",
    )

    def validate(self, data):
        data = super().validate(data)
        audio = data["type"] == "audio"
        if audio and "video_format" in self.initial_data:
            raise serializers.ValidationError({"video_format": ["is for type video only"]})
        choices = AUDIO_OUTPUT_FORMATS if audio else VIDEO_OUTPUT_FORMATS
        if data.get("output_format") and data["output_format"] not in choices:
            raise serializers.ValidationError(
                {"output_format": [f"must be one of {', '.join(choices)}"]}
            )
        if audio:
            data.pop("video_format", None)
        return data


INPUT_BY_TASK_TYPE = {
    serializer.task_type: serializer
    for serializer in (
        GetVideoInput,
        GetAudioInput,
        GetLiveVideoInput,
        GetLiveAudioInput,
        GetInfoInput,
    )
}


def task_fields(validated_data: dict) -> dict:
    """Task model fields from an endpoint's validated input."""
    fields = dict(validated_data)
    if "start" in fields:
        fields["live_start"] = fields.pop("start")
    if "duration" in fields:
        fields["live_duration"] = fields.pop("duration")
    fields["output_format"] = fields.get("output_format") or ""
    if "filename" in fields:
        fields["filename_template"] = fields.pop("filename")
    if "type" in fields:  # a playlist
        fields["playlist_type"] = PLAYLIST_CHILD_TYPES[fields.pop("type")]
        fields["playlist_items"] = fields.pop("items", "")
    return fields


MAX_LIST_LIMIT = 200


def task_cursor(task) -> str:
    """The opaque cursor that continues a listing after `task`: its creation time and id,
    so pages stay stable while tasks are created (an offset would shift)."""
    position = json.dumps([task.created_at.isoformat(), task.id])
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


@extend_schema_field({"type": "string", "description": "The `next` of the previous page."})
class TaskCursorField(serializers.CharField):
    """A cursor from task_cursor, as (created_at, task id)."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            created, task_id = json.loads(decoded)
            created_at = datetime.fromisoformat(created)
            if not isinstance(task_id, str) or created_at.tzinfo is None:
                raise ValueError
        except (ValueError, TypeError):  # binascii.Error and JSONDecodeError are ValueErrors
            raise serializers.ValidationError("is not the `next` of a previous page") from None
        return created_at, task_id


WAIT_HELP = (
    "Long poll: answer as soon as {what}, or after this many seconds (more than 0, at most "
    "60) with {otherwise}. Held by the server's event loop, not a thread "
    "(ytdlphost/fast_path.py)."
)


class WaitField(serializers.FloatField):
    """`wait=S`; the waiting itself is done before the view (ytdlphost/fast_path.py),
    which also refuses an S out of range with the same message."""

    def to_internal_value(self, data):
        from ytdlphost.fast_path import WAIT_ERROR, parse_wait

        seconds = parse_wait(str(data))
        if seconds is None:
            raise serializers.ValidationError(WAIT_ERROR)
        return seconds


class TaskListQuery(serializers.Serializer):
    """The query of GET /tasks."""

    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    task_type = serializers.ChoiceField(choices=TaskType.choices, required=False)
    subscription = serializers.CharField(
        required=False, max_length=40, help_text="The tasks this subscription started."
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIST_LIMIT, default=50)
    cursor = TaskCursorField(required=False)
    all = serializers.BooleanField(default=False, help_text="Every key's tasks; needs `get_keys`.")
    wait = WaitField(
        required=False,
        help_text=WAIT_HELP.format(
            what="the page's ETag differs from `If-None-Match`", otherwise="304"
        )
        + " Without If-None-Match the page is answered at once.",
    )


class CancelInput(serializers.Serializer):
    keep = StrictBooleanField(
        default=False,
        help_text="Live recordings: stop early and complete with what was recorded so far.",
    )


# One instance for every body: a serializer deep-copies its declared fields when it is
# created, which was half the CPU of a /status (bench/profile_status.py), and its fields
# keep no state between representations.
_STATUS_OUTPUT = TaskStatusOutput()


def task_status(task) -> dict:
    """The /status body (schema.TaskStatusOutput: the documented fields, then this
    service's additions)."""
    return _STATUS_OUTPUT.to_representation(task)
