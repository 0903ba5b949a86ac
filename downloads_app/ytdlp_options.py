"""yt-dlp's options for a task, built in small named steps: the operator's YTDLP_* settings
(parsed by yt-dlp's own option parser), base options every task shares, then the format
selection, clip range or live window of the task at hand; and the checks, at submission,
of a request's format selector and playlist items in yt-dlp's own terms.

With ytdlp.py (the download and extraction flow) and connection_guard.py, one of the
modules that import yt_dlp.
"""

import functools
import logging
import math
import optparse
from collections.abc import Callable
from pathlib import Path

import yt_dlp
from django.conf import settings
from yt_dlp.utils import PlaylistEntries, download_range_func

from downloads_app.errors import DownloadFailed, ErrorCode
from downloads_app.limits import Limits
from downloads_app.media_options import POSTPROCESSORS, MediaOptions

logger = logging.getLogger("ytdlphost.ytdlp")


class _Logger:
    """Routes yt-dlp's output to logging instead of the worker's stdout."""

    def debug(self, message):
        logger.debug(message)

    def info(self, message):
        logger.debug(message)

    def warning(self, message):
        logger.info(message)

    def error(self, message):
        logger.info(message)


class ServerOptionsInvalid(DownloadFailed):
    """A YTDLP_* setting yt-dlp's option parser rejects. A system check reports the
    problem; a task that runs anyway fails without showing the operator's settings (its
    `detail`, which /status shows as error_detail, stays empty)."""

    def __init__(self, problem: str):
        # `internal`: the software as configured failed, whatever the site (a yt-dlp update
        # that drops an option shows so).
        super().__init__(
            "The server's yt-dlp settings are invalid (see manage.py check)", ErrorCode.INTERNAL
        )
        self.problem = problem


# The yt-dlp option each YTDLP_* setting stands for, and the option key it produces.
SERVER_OPTION_KEYS = {
    "--proxy": "proxy",
    "--cookies": "cookiefile",
    "--impersonate": "impersonate",
    "--extractor-args": "extractor_args",
    "--js-runtimes": "js_runtimes",
}


def server_command_line() -> dict[str, list[str]]:
    """Each YTDLP_* setting that is set, as the yt-dlp command-line options it stands for."""
    options = {}
    if settings.YTDLP_PROXY:
        options["YTDLP_PROXY"] = [f"--proxy={settings.YTDLP_PROXY}"]
    if settings.YTDLP_COOKIES_FILE:
        options["YTDLP_COOKIES_FILE"] = [f"--cookies={settings.YTDLP_COOKIES_FILE}"]
    if settings.YTDLP_IMPERSONATE:
        options["YTDLP_IMPERSONATE"] = [f"--impersonate={settings.YTDLP_IMPERSONATE}"]
    if settings.YTDLP_EXTRACTOR_ARGS:
        # Several extractors' arguments are separated by spaces: one option each.
        options["YTDLP_EXTRACTOR_ARGS"] = [
            f"--extractor-args={arguments}" for arguments in settings.YTDLP_EXTRACTOR_ARGS.split()
        ]
    if settings.YTDLP_JS_RUNTIMES:
        # Exactly the runtimes listed, without yt-dlp's default (deno) besides them.
        options["YTDLP_JS_RUNTIMES"] = [
            "--no-js-runtimes",
            *(f"--js-runtimes={runtime}" for runtime in settings.YTDLP_JS_RUNTIMES),
        ]
    return options


def _parse_with_ytdlp(argv: list[str]) -> dict:
    """yt-dlp's options for a command line; with arguments given, yt-dlp reads no
    config file. Raises ValueError with yt-dlp's message."""
    try:
        return yt_dlp.parse_options(argv).ydl_opts
    except optparse.OptParseError as exc:  # parser.error(): usage text, then the message
        raise ValueError(str(exc).rpartition("error: ")[2].strip()) from None
    except SystemExit:  # parser.error() in older yt-dlp versions: the message went to stderr
        raise ValueError("rejected by yt-dlp's option parser") from None


def server_options() -> dict:
    """The operator's yt-dlp configuration (settings, never the request), parsed by
    yt-dlp's own option parser."""
    command_line = server_command_line()
    if not command_line:
        return {}
    try:
        parsed = _parse_with_ytdlp([arg for args in command_line.values() for arg in args])
    except ValueError as exc:
        culprits = []
        for setting, args in command_line.items():
            try:
                _parse_with_ytdlp(args)
            except ValueError:
                culprits.append(setting)
        raise ServerOptionsInvalid(f"{' / '.join(culprits) or 'YTDLP_*'}: {exc}") from None
    given = {
        SERVER_OPTION_KEYS[arg.partition("=")[0]]
        for args in command_line.values()
        for arg in args
        if "=" in arg
    }
    return {key: parsed[key] for key in given}


def base_options(work_dir: Path | None = None) -> dict:
    options = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Logger(),
        "noplaylist": True,
        "cachedir": False,
        "socket_timeout": 30,
        "retries": 3,
        "fragment_retries": 3,
        # A fragment that cannot be fetched fails the task: a video with a hole in it,
        # reported as completed, is worse than an error.
        "skip_unavailable_fragments": False,
        "overwrites": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        **server_options(),
    }
    if work_dir is not None:
        options["outtmpl"] = {"default": str(work_dir / "download.%(ext)s")}
    return options


def format_selector(task) -> str:
    """The yt-dlp format selector for a task.

    Video: the video and audio selectors merged; each is grouped, so a selector with its
    own `/` alternatives still pairs with the audio. A source with only combined formats
    (a progressive file) falls back to the best of those, so the result has both streams.
    """
    if task.is_audio:
        return f"({task.audio_format})/bestaudio/best"
    return f"({task.video_format})+({task.audio_format})/best"


def clip_options(task) -> dict:
    if task.start_time is None and task.end_time is None:
        return {}
    start = task.start_time or 0.0
    end = task.end_time if task.end_time is not None else math.inf
    return {
        "download_ranges": download_range_func(None, [(start, end)]),
        # Exact cuts re-encode around the cut points; otherwise cut at keyframes.
        "force_keyframes_at_cuts": task.force_keyframes,
    }


def is_clip(task) -> bool:
    return task.start_time is not None or task.end_time is not None


# Options of a clip that a download of the whole file does without.
CLIP_OPTIONS = ("download_ranges", "force_keyframes_at_cuts")


def live_options(task) -> dict:
    """Live streams are recorded by ffmpeg; the window is set once the format is known."""
    return {"external_downloader": {"default": "ffmpeg"}, "hls_use_mpegts": True}


def build_ytdlp_options(
    task, work_dir: Path, progress_hook: Callable, limits: Limits, output_cap=None
) -> dict:
    options = base_options(work_dir)
    options["format"] = format_selector(task)
    options["progress_hooks"] = [limits.progress_hook, progress_hook]
    options.update(clip_options(task))
    if task.is_live:
        options.update(live_options(task))
    else:
        options.update(MediaOptions.of(task.media_options).download_options())
    options["external_downloader_args"] = ffmpeg_limit_args(output_cap)
    return options


def ffmpeg_limit_args(output_cap: tuple | None) -> dict:
    """ffmpeg stops writing at the cap (Limits.output_cap) when it does the downloading
    itself."""
    return {"ffmpeg_o": ["-fs", str(output_cap[0])]} if output_cap else {}


@functools.cache
def _selector_parser() -> yt_dlp.YoutubeDL:
    """A YoutubeDL kept only to parse format selectors (build_format_selector is a method;
    it only reads the instance, so the web's threads may share it): made once per process,
    as making one parses every option."""
    return yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True, "logger": _Logger()})


def check_format_selector(selector: str) -> None:
    """Raise ValueError with yt-dlp's own complaint when it cannot parse `selector`, as
    the task would otherwise fail on it only once a worker runs it."""
    try:
        _selector_parser().build_format_selector(selector)
    except Exception as exc:  # SyntaxError, ValueError or TypeError, depending on the part
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def selected_formats(task, info: dict) -> list[dict]:
    """The formats the task's selector picks from an info.json's (its video and audio,
    or the one combined format), as yt-dlp's own selection would before a download;
    [] when none matches. A document without `formats` is its one format, as to yt-dlp."""
    formats = info.get("formats") or [info]
    select = _selector_parser().build_format_selector(format_selector(task))
    # The context yt-dlp's YoutubeDL._select_formats gives a selector.
    chosen = next(
        iter(
            select({
                "formats": formats,
                "has_merged_format": any(
                    "none" not in (f.get("acodec"), f.get("vcodec")) for f in formats
                ),
                "incomplete_formats": all(f.get("vcodec") == "none" for f in formats)
                or all(f.get("acodec") == "none" for f in formats),
            })
        ),
        None,
    )  # fmt: skip
    if chosen is None:
        return []
    return chosen.get("requested_formats") or [chosen]


def check_playlist_items(items: str) -> None:
    """Raise ValueError when `items` is not yt-dlp's --playlist-items syntax."""
    try:
        for _ in PlaylistEntries.parse_playlist_items(items):
            pass
    except Exception:  # yt-dlp raises ValueError or DownloadError, depending on the part
        raise ValueError(
            'is not a list of positions and ranges such as "1-5,8" or "-3:" '
            "(yt-dlp's --playlist-items)"
        ) from None


def missing_postprocessors() -> list[str]:
    """The post-processors of the media options (media_options.POSTPROCESSORS) that this
    yt-dlp lacks."""
    return [
        key for key in POSTPROCESSORS if f"{key}PP" not in yt_dlp.postprocessor.postprocessors.value
    ]
