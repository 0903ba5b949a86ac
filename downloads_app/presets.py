"""Presets (models/preset.py): what a preset may hold, who may use one, and the one rule
that applies one to a request, used by every task-creating view and by subscriptions.

A preset's options are request fields of its task type, checked by that type's own
request serializer without `url` (and without `preset`: no preset names another), so a
field added to a request is presetable with no change here. A preset gives what a
request of its type must give (a live recording's `duration`, a playlist's `type`), since
a request naming it may leave them out.
"""

from rest_framework.exceptions import ValidationError

from downloads_app import serializers
from downloads_app.models import Preset, TaskType
from ytdlphost import exceptions
from ytdlphost.errors import flatten_detail
from ytdlphost.validation import validated

# Request fields that a preset never sets: each request's own URL, and the preset itself.
NOT_PRESETABLE = ("url", "preset")
LIBRARY_PERMISSION = "library"


class InvalidOptions(Exception):
    """A preset that cannot be saved: `field` is the model field to show the error on."""

    def __init__(self, field: str, messages: list[str]):
        super().__init__(f"{field}: {' '.join(messages)}")
        self.field, self.messages = field, messages


# The request serializer of each task type a preset may have.
PRESET_INPUTS = {
    **serializers.INPUT_BY_TASK_TYPE,
    TaskType.GET_PLAYLIST: serializers.GetPlaylistInput,
}


def check_options(task_type: str, options) -> dict:
    """The options, when a request of `task_type` may send them (InvalidOptions saying
    which field is wrong and why, otherwise). Kept as given, not as validated: a request
    naming the preset is validated whole again, with the defaults of that moment."""
    if task_type not in PRESET_INPUTS:
        raise InvalidOptions("task_type", [f"must be one of {', '.join(sorted(PRESET_INPUTS))}"])
    if not isinstance(options, dict):
        raise InvalidOptions("options", ["must be a JSON object of request fields"])
    if refused := [name for name in NOT_PRESETABLE if name in options]:
        raise InvalidOptions(
            "options", [f"a preset cannot set {' or '.join(refused)}: the request gives it"]
        )
    serializer = PRESET_INPUTS[task_type](data=options, context={"preset": True})
    for name in NOT_PRESETABLE:
        serializer.fields.pop(name, None)
    if unknown := sorted(set(options) - set(serializer.fields)):
        raise InvalidOptions(
            "options", [f"unknown fields for {task_type}: {', '.join(map(str, unknown))}"]
        )
    if not serializer.is_valid():
        raise InvalidOptions("options", [flatten_detail(serializer.errors)])
    return options


def playlist_permission(kind) -> str:
    """The permission a playlist of entries of `kind` ("video", "audio") needs: its
    entries' type's; anything but "audio" is refused later, and needs get_video."""
    return (TaskType.GET_AUDIO if kind == "audio" else TaskType.GET_VIDEO).value


def required_permissions(task_type: str, options: dict) -> list[str]:
    """What a key must hold to use a preset: the permission that starts its tasks, and
    `library` when it puts their files in the library."""
    starting = (
        playlist_permission(options.get("type"))
        if task_type == TaskType.GET_PLAYLIST
        else task_type
    )
    return [starting, *([LIBRARY_PERMISSION] if options.get("library") is True else [])]


def usable_presets(api_key) -> list:
    """The presets this key may use, by name."""
    return [preset for preset in Preset.objects.order_by("name") if preset.usable_by(api_key)]


def with_preset(api_key, task_type: str, body):
    """The request `body` with its `preset`'s options beneath it: a field the body gives
    wins (null included: `output_format: null` is the source's own format). A body that
    names no preset (absent, null or "") is returned as it is, less a null or empty
    `preset`. Refused, naming the preset: an unknown name or one of another task type
    (400), one the key may not use (403)."""
    if not isinstance(body, dict) or "preset" not in body:
        return body
    name = body["preset"]
    if name in (None, ""):
        return {field: value for field, value in body.items() if field != "preset"}
    if not isinstance(name, str):
        raise exceptions.Invalid("preset", "must be the name of a preset (GET /presets)")
    preset = Preset.objects.filter(name=name).first()
    if preset is None:
        raise exceptions.Invalid(
            "preset", f"no preset named '{name}' (GET /presets lists this key's)"
        )
    if preset.task_type != task_type:
        raise exceptions.Invalid(
            "preset", f"'{name}' is a preset of {preset.task_type}, not of {task_type}"
        )
    if missing := [p for p in preset.required_permissions if not api_key.allows(p)]:
        raise exceptions.NotPermitted(
            f"Insufficient permissions: the preset '{name}' needs {' and '.join(missing)}"
        )
    return {**preset.options, **body}


def validated_request(serializer_class, body, merged, context: dict) -> dict:
    """The `merged` request (with_preset's of `body`) validated by the endpoint's
    serializer. An error on a field that only the preset gave says so: the client never
    sent it (a playlist preset's video_format, once the request asks for audio)."""
    try:
        return validated(serializer_class, merged, context)
    except ValidationError as exc:
        name = merged.get("preset") if isinstance(merged, dict) else None
        if name and isinstance(body, dict) and isinstance(exc.detail, dict):
            exc.detail = {
                f"{field} (from the preset '{name}')"
                if field in merged and field not in body
                else field: messages
                for field, messages in exc.detail.items()
            }
        raise


def preset_body(preset) -> dict:
    """A preset as GET /presets shows it."""
    return {
        "name": preset.name,
        "description": preset.description,
        "task_type": preset.task_type,
        "options": preset.options,
    }
