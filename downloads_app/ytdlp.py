"""The one module that talks to yt-dlp.

Options are built in small named steps: base options every task shares, then the
format selection, clip range or live window of the task at hand. yt-dlp's DownloadError
becomes DownloadFailed, whose message is meant for the user.
"""

import logging
import math
import re
from collections.abc import Callable
from pathlib import Path

import yt_dlp
from yt_dlp.utils import DownloadError, download_range_func

logger = logging.getLogger("ytdlphost.ytdlp")

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class DownloadFailed(Exception):
    """An expected failure of a task (bad URL, unavailable video, ...)."""


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


def clean_message(exc: Exception) -> str:
    message = ANSI_ESCAPE.sub("", str(exc)).strip()
    return message.removeprefix("ERROR: ").strip() or type(exc).__name__


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
        "overwrites": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
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


def live_options(task) -> dict:
    """Live streams are recorded by ffmpeg; the window is set once the format is known."""
    return {"external_downloader": {"default": "ffmpeg"}, "hls_use_mpegts": True}


def build_ytdlp_options(task, work_dir: Path, progress_hook: Callable) -> dict:
    options = base_options(work_dir)
    options["format"] = format_selector(task)
    options["progress_hooks"] = [progress_hook]
    options.update(clip_options(task))
    if task.is_live:
        options.update(live_options(task))
    return options


def _is_live(info: dict) -> bool:
    return bool(info.get("is_live")) or info.get("live_status") == "is_live"


def _check_kind(info: dict, task) -> None:
    if info.get("_type") == "playlist":
        raise DownloadFailed(
            "The URL is a playlist; playlists are not expanded. Send the URL of one video."
        )
    if task.is_live and not _is_live(info):
        raise DownloadFailed(
            "The URL is not a live stream; use /get_video or /get_audio for recorded media."
        )
    if not task.is_live and _is_live(info):
        raise DownloadFailed(
            "The URL is a live stream; use /get_live_video or /get_live_audio to record it."
        )


def _segments_back(ydl, playlist_url: str, seconds: float) -> int:
    """How many segments from the end of a live HLS playlist cover `seconds`."""
    text = ydl.urlopen(playlist_url).read().decode("utf-8", "replace")
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+)", text)]
    covered, count = 0.0, 0
    for duration in reversed(durations):
        count += 1
        covered += duration
        if covered >= seconds:
            break
    return max(count, 1)


def _set_live_window(ydl, info: dict, task) -> None:
    """Record `duration` seconds, starting `start` seconds before the live edge.

    ffmpeg's HLS demuxer starts at the segment `-live_start_index` counts from the end of
    the playlist (clamped to the first one, so a stream that cannot rewind that far starts
    as early as it can); `-t` ends the recording after `duration` seconds of media.
    """
    formats = info.get("requested_formats") or [info]
    input_args = []
    if all(f.get("protocol", "").startswith("m3u8") for f in formats):
        back = _segments_back(ydl, formats[0]["url"], task.live_start or 0.0)
        input_args = ["-live_start_index", str(-back)]
    ydl.params["external_downloader_args"] = {
        "ffmpeg_i": input_args,
        "ffmpeg_o": ["-t", f"{task.live_duration:.3f}"],
    }


def _downloaded_file(info: dict, work_dir: Path) -> Path:
    for download in info.get("requested_downloads") or []:
        path = download.get("filepath")
        if path and Path(path).exists():
            return Path(path)
    candidates = [p for p in work_dir.iterdir() if p.is_file() and p.name.startswith("download.")]
    candidates = [p for p in candidates if not p.name.endswith((".part", ".ytdl"))]
    if not candidates:
        raise DownloadFailed("yt-dlp finished without producing a file")
    return max(candidates, key=lambda p: p.stat().st_size)


def download(task, work_dir: Path, progress_hook: Callable) -> Path:
    """Download what the task asks for into work_dir; returns the produced file."""
    options = build_ytdlp_options(task, work_dir, progress_hook)
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(task.url, download=False)
            _check_kind(info, task)
            if task.is_live:
                _set_live_window(ydl, info, task)
            info = ydl.process_ie_result(info, download=True)
    except DownloadError as exc:
        raise DownloadFailed(clean_message(exc)) from None
    return _downloaded_file(info, work_dir)


def extract_metadata(url: str) -> dict:
    """The video's metadata, sanitized to what JSON can hold."""
    options = base_options()
    # A playlist's entries are listed, not each extracted in turn.
    options["extract_flat"] = "in_playlist"
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
            return ydl.sanitize_info(info)
    except DownloadError as exc:
        raise DownloadFailed(clean_message(exc)) from None
