"""SponsorBlock: the `sponsorblock` request option, and the step of a task's work that
marks the segments the SponsorBlock API knows as chapters and removes others from the file.

The rules are yt-dlp's own (its --sponsorblock-mark and --sponsorblock-remove): the
category names, `all`, `default` and `-category` exclusions are read from its option
parser's definitions, and the work is done by its post-processors: SponsorBlockPP asks the
API (SPONSORBLOCK_API) for the video's segments, ModifyChaptersPP cuts the removed ones
and arranges the chapters, FFmpegMetadataPP writes the chapters into the file.

yt-dlp's post-processor acts on YouTube results only; anything else goes through
unchanged. The API's request goes through the connection guard like every other of
yt-dlp's (GuardedYoutubeDL), so a private address needs ALLOWED_PRIVATE_NETWORKS. An API
that cannot be reached, or answers nonsense, does not fail the task: the file is delivered
without marks or cuts, and a warning is logged (yt-dlp itself would fail the download).

With ytdlp.py, one of the modules that import yt_dlp.
"""

import collections
import functools
import logging
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from yt_dlp.networking.exceptions import RequestError
from yt_dlp.options import create_parser
from yt_dlp.postprocessor import FFmpegMetadataPP, ModifyChaptersPP, SponsorBlockPP
from yt_dlp.utils import PostProcessingError, orderedSet_from_options

from downloads_app.connection_guard import GuardedYoutubeDL
from downloads_app.media import ConversionFailed, probe
from downloads_app.ytdlp_options import base_options, is_clip

logger = logging.getLogger("ytdlphost.sponsorblock")

# Where the option is kept: Task.media_options["sponsorblock"], {"mark": [...],
# "remove": [...]} with every alias resolved to category names.
KEY = "sponsorblock"

# The API is asked once more after a failure, each attempt waiting at most this long for
# a connection or a byte: a SponsorBlock that is down delays the file by seconds, not by
# yt-dlp's four attempts of socket_timeout (30 s) each.
API_TIMEOUT = 10.0
API_RETRIES = 1

# The option's two lists, as its error messages say what each does.
DONE = {"mark": "marked", "remove": "removed"}
MAX_NAMES = 20  # a bound on a request's size, beyond what a sensible list needs


class RulesUnavailable(LookupError):
    """This yt-dlp's option parser no longer defines the SponsorBlock options as read
    here (a system check reports it: checks.py)."""


@functools.cache
def _option_rules(action: str) -> tuple[frozenset, dict]:
    """The categories yt-dlp's --sponsorblock-<action> accepts, and its aliases
    (`default`), from its own option parser: one set of rules, however yt-dlp changes it."""
    option = create_parser().get_option(f"--sponsorblock-{action}")
    try:
        rules = option.callback_kwargs
        return frozenset(rules["allowed_values"]), dict(rules["aliases"])
    except (AttributeError, KeyError, TypeError):
        raise RulesUnavailable(f"yt-dlp's --sponsorblock-{action} is not as expected") from None


def rules_problems() -> list[str]:
    """What is missing of the option parser's SponsorBlock rules (for the system check)."""
    problems = []
    for action in DONE:
        try:
            _option_rules(action)
        except RulesUnavailable as exc:
            problems.append(str(exc))
    return problems


def categories(action: str, names: list[str]) -> list[str]:
    """The categories that `names` select for `action` ("mark" or "remove"), as yt-dlp
    reads its command line: names, `all`, `default`, and `-name` to leave out one that
    came before; sorted. Raises ValueError naming an unknown category."""
    try:
        allowed, aliases = _option_rules(action)
    except RulesUnavailable:
        raise ValueError("this server's yt-dlp cannot read SponsorBlock categories") from None
    chosen = collections.ChainMap(aliases, {"all": allowed})
    try:
        return sorted(orderedSet_from_options([n.lower().strip() for n in names], chosen))
    except ValueError as exc:
        known = ", ".join(sorted(allowed))
        raise ValueError(
            f'"{exc.args[0]}" is not a category that can be {DONE[action]}; use {known}, all, '
            "default, or -<category> to leave one out"
        ) from None


def _names_schema(action: str) -> dict:
    """The OpenAPI schema of a list of `action`'s names, from yt-dlp's rules (any
    strings, should they be unreadable: the schema is built when the app is loaded)."""
    names_schema = {"type": "array", "maxItems": MAX_NAMES, "items": {"type": "string"}}
    try:
        allowed, aliases = _option_rules(action)
    except RulesUnavailable:
        return names_schema
    names = sorted({*allowed, *aliases, "all"})
    names_schema["items"]["enum"] = [*names, *(f"-{name}" for name in names)]
    return names_schema


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {action: _names_schema(action) for action in DONE},
        "additionalProperties": False,
        "description": "SponsorBlock segments of a YouTube video to mark as chapters "
        "(`mark`) or to cut out of the file (`remove`), as yt-dlp's --sponsorblock-mark and "
        "--sponsorblock-remove: category names, `all`, `default` (remove: all but filler) "
        "and `-<category>` to leave one out. A category in both is removed; `chapter` and "
        "`poi_highlight` can only be marked. Absent, null or no category: none. A playlist "
        "gives it to each entry. Media of other sites is left as it is.",
        "example": {"mark": ["intro", "outro"], "remove": ["sponsor"]},
    }
)
class SponsorBlockField(serializers.Field):
    """The `sponsorblock` option: {"mark": [...], "remove": [...]}, each list optional;
    null, or no category selected, is no SponsorBlock at all (validated to None)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'must be an object such as {"mark": ["intro"], "remove": ["sponsor"]}'
            )
        if unknown := sorted(set(data) - {"mark", "remove"}):
            raise serializers.ValidationError(
                f"unknown fields: {', '.join(map(str, unknown))} (use mark and remove)"
            )
        chosen = {}
        for action in DONE:
            names = data.get(action, [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise serializers.ValidationError(f"{action} must be a list of category names")
            if len(names) > MAX_NAMES:
                raise serializers.ValidationError(
                    f"{action} may list at most {MAX_NAMES} categories"
                )
            try:
                chosen[action] = categories(action, names)
            except ValueError as exc:
                raise serializers.ValidationError(f"{action}: {exc}") from None
        # yt-dlp: "If a category is present in both mark and remove, remove takes
        # precedence."
        chosen["mark"] = [name for name in chosen["mark"] if name not in chosen["remove"]]
        return chosen if chosen["mark"] or chosen["remove"] else None

    def to_representation(self, value):
        return value


class SponsorBlockStatusField(SponsorBlockField):
    """/status: the option the task was asked with, read from Task.media_options; null:
    none."""

    def __init__(self, **kwargs):
        super().__init__(source="media_options", **kwargs)

    def to_representation(self, value):
        return (value or {}).get(KEY)


def media_options(validated: dict | None) -> dict:
    """The Task.media_options entry of a validated option ({} when there is none)."""
    return {KEY: validated} if validated else {}


def apply(task, info: dict, path: Path, work_dir: Path) -> Path:
    """The downloaded file at `path` with the task's SponsorBlock option applied: the
    `mark` segments as chapters, the `remove` ones cut out; `path` itself when the task
    asks for none, the media is not YouTube's, or the API has nothing or cannot be asked.

    `info` is yt-dlp's info of the download; its `chapters` and `duration` are updated as
    yt-dlp's post-processors update them, for the steps after this one. A clip has the
    segments moved to its own time line first, which yt-dlp does not do for its download
    sections. Raises ConversionFailed when ffmpeg cannot cut.
    """
    option = (task.media_options or {}).get(KEY)
    # SponsorBlockPP's own table of the extractors it knows: of other media, nothing is
    # asked and no file is read.
    if not option or not info or info.get("extractor_key") not in SponsorBlockPP.EXTRACTORS:
        return path
    mark, remove = option.get("mark", []), option.get("remove", [])
    working = {**info, "filepath": str(path), "ext": path.suffix.lstrip(".")}
    working.setdefault("title", "")
    clip = is_clip(task)
    length = probe(path).duration if clip or not working.get("duration") else None
    if not working.get("duration") and not clip:
        working["duration"] = length  # SponsorBlockPP compares it with the API's
    options = base_options() | {"socket_timeout": API_TIMEOUT, "extractor_retries": API_RETRIES}
    with GuardedYoutubeDL(options) as ydl:
        if not _find_segments(ydl, working, [*mark, *remove], task.id):
            return path
        if clip:
            _into_clip(working, task.start_time or 0.0, length)
        try:
            working = ydl.run_pp(
                ModifyChaptersPP(ydl, remove_sponsor_segments=remove,
                                 force_keyframes=task.force_keyframes),
                working,
            )  # fmt: skip
            if mark:  # as yt-dlp: chapters are embedded when segments are marked
                working = ydl.run_pp(
                    FFmpegMetadataPP(ydl, add_metadata=False, add_infojson=False), working
                )
        except PostProcessingError as exc:
            raise ConversionFailed(f"could not apply SponsorBlock's segments: {exc.msg}") from None
    info.update(chapters=working.get("chapters"), duration=working.get("duration"))
    return Path(working["filepath"])


def _find_segments(ydl, working: dict, wanted: list[str], task_id: str) -> bool:
    """Whether the API has segments of the wanted categories for the media (left in
    working["sponsorblock_chapters"]). An API that fails is logged, never raised."""
    finder = SponsorBlockPP(ydl, categories=wanted, api=settings.SPONSORBLOCK_API)
    try:
        ydl.run_pp(finder, working)
    except (PostProcessingError, RequestError, ValueError, KeyError, TypeError) as exc:
        logger.warning(
            "task %s: SponsorBlock (%s) could not be asked, the file is left as it is: %s",
            task_id, settings.SPONSORBLOCK_API, exc, extra={"task_id": task_id},
        )  # fmt: skip
        return False
    return bool(working.get("sponsorblock_chapters"))


def _into_clip(working: dict, start: float, length: float | None) -> None:
    """The segments of the whole media, moved to the time line of a clip
    that starts at `start` and lasts `length` seconds; those outside it dropped.

    A clip cut at the keyframe before `start` (without force_keyframes) starts up to a
    keyframe interval early, and so are its marks and cuts."""
    end = length if length is not None else float("inf")

    def inside(chapter: dict) -> dict | None:
        moved = dict(chapter)
        moved["start_time"] = max(0.0, (chapter.get("start_time") or 0.0) - start)
        finish = chapter.get("end_time")
        moved["end_time"] = min(end, finish - start) if finish is not None else end
        if moved["end_time"] <= moved["start_time"]:
            return None
        if "_categories" in chapter:  # a segment's: (category, start, end, title)
            moved["_categories"] = [
                (category, max(0.0, begin - start), max(0.0, stop - start), title)
                for category, begin, stop, title in chapter["_categories"]
            ]
        return moved

    # The media's own chapters are on the clip's time line already (task_work._cut_to_clip).
    moved = [inside(c) for c in working.get("sponsorblock_chapters") or []]
    working["sponsorblock_chapters"] = [c for c in moved if c is not None]
    if length is not None:
        working["duration"] = length  # what ModifyChaptersPP compares the file with
