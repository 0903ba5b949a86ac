"""Synthetic media for tests that drive yt-dlp offline, and ffprobe to inspect results.

`generate_media(root)` renders small clips with ffmpeg (progressive MP4, a DASH presentation
with three video heights and a separate audio track, an HLS VOD and ten minutes of 1-second
MPEG-TS segments used as live material); tests/support/media_server.py serves them.
`ffprobe`/`duration`/`codecs` inspect results.

Layout of `root` after generation:
    progressive.mp4              H.264 + AAC, 10 s, 320x180, 25 fps, keyframe every 2 s
    progressive_index_at_end.mp4 the same streams with the index (moov) after the media, as
                                 ffmpeg writes an MP4 without +faststart: a reader that cannot
                                 seek must read it to its end before the first frame
    dash/manifest.mpd            static DASH, 10 s, video 144p/240p/360p + one AAC audio
    hls_vod/index.m3u8           HLS VOD, 10 s, 2 s MPEG-TS segments (H.264 + AAC muxed)
    live/seg_00000.ts ...        600 segments of 1 s, 160x90, continuous timestamps
    live/source.m3u8             those segments as one 10-minute VOD playlist
    live/segments.json           {"files": [...], "durations": [...]} of the live material
    .complete                    version marker, written last
    page/video.html              a web page whose <video> plays ../progressive.mp4, with a
                                 poster (page/poster.jpg) and English subtitles
                                 (page/captions.en.vtt): yt-dlp's generic extractor reads
                                 all three (issue 25's subtitles and thumbnails)
    page/.complete               its own version marker (PAGE_VERSION): added to a cache of
                                 the media above without redoing it

Live URLs served by `MediaServer` (not files on disk):


This module deliberately has no Django (or pytest) imports.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import m3u8

__all__ = [
    "FFMPEG",
    "FFPROBE",
    "LIVE_SEGMENT_COUNT",
    "MEDIA_VERSION",
    "codecs",
    "duration",
    "ffprobe",
    "generate_media",
    "is_generated",
    "load_live_segments",
]

# Bump whenever the generated media changes, so that cached generations are redone.
MEDIA_VERSION = "2"
MARKER_NAME = ".complete"

DURATION = 10  # seconds, for the progressive, DASH and HLS VOD clips
LIVE_SEGMENT_COUNT = 600  # 1-second live segments: ten minutes of material
DASH_HEIGHTS = (144, 240, 360)

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe") or "ffprobe"

# The page with a poster and subtitles: generated on its own, after the rest, so that a
# cache of the rest stays valid when it changes.
PAGE_VERSION = "1"
PAGE_TITLE = "A page with captions"
PAGE_CAPTION = "Hello from the test page"

# Everything generate_media writes under root; anything else there is left alone.
_GENERATED_ENTRIES = (
    "progressive.mp4",
    "progressive_index_at_end.mp4",
    "dash",
    "hls_vod",
    "live",
    "page",
    MARKER_NAME,
)

_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _fixed_gop(frames: int) -> list[str]:
    """Keyframes exactly every `frames` frames (no scene-cut keyframes), so that segment
    boundaries land where we ask for them."""
    return ["-g", str(frames), "-keyint_min", str(frames), "-sc_threshold", "0"]


def _lavfi_inputs(video: str, size: str, seconds: int, frequency: int) -> list[str]:
    return [
        "-f", "lavfi", "-i", f"{video}=size={size}:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=44100:duration={seconds}",
    ]  # fmt: skip


def _generation_jobs(root: Path) -> list[list[str]]:
    """The ffmpeg command lines (without the leading `ffmpeg -v error -y`)."""
    progressive = [
        *_lavfi_inputs("testsrc2", "320x180", DURATION, 440),
        *_X264, *_fixed_gop(50),
        "-c:a", "aac", "-b:a", "64k",
        "-movflags", "+faststart",
        str(root / "progressive.mp4"),
    ]  # fmt: skip
    # Without +faststart ffmpeg's mp4 muxer writes the moov atom last.
    index_at_end = [
        *_lavfi_inputs("testsrc2", "320x180", DURATION, 440),
        *_X264, *_fixed_gop(50),
        "-c:a", "aac", "-b:a", "64k",
        str(root / "progressive_index_at_end.mp4"),
    ]  # fmt: skip

    # One encode, split into the three video heights; the audio is its own adaptation set.
    # `scale=-2:H` keeps 16:9 via the sample aspect ratio (240p is 426x240 with SAR 640:639):
    # the dash muxer refuses an adaptation set whose display aspect ratios differ.
    heights = DASH_HEIGHTS
    split = f"[0:v]split={len(heights)}" + "".join(f"[s{h}]" for h in heights)
    scales = [f"[s{h}]scale=-2:{h}[v{h}]" for h in heights]
    dash = [
        *_lavfi_inputs("testsrc2", "640x360", DURATION, 660),
        "-filter_complex", ";".join([split, *scales]),
        *[arg for h in heights for arg in ("-map", f"[v{h}]")],
        "-map", "1:a",
        *_X264, *_fixed_gop(50),
        *[arg for i, h in enumerate(heights) for arg in (f"-b:v:{i}", f"{h * 2}k")],
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "1",
        "-adaptation_sets", "id=0,streams=v id=1,streams=a",
        str(root / "dash" / "manifest.mpd"),
    ]  # fmt: skip

    hls_vod = [
        *_lavfi_inputs("testsrc", "320x180", DURATION, 550),
        *_X264, *_fixed_gop(50),
        "-c:a", "aac", "-b:a", "64k",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(root / "hls_vod" / "seg_%03d.ts"),
        str(root / "hls_vod" / "index.m3u8"),
    ]  # fmt: skip

    # The hls muxer (rather than the segment muxer) because it also writes each segment's
    # exact duration into source.m3u8, which we turn into segments.json.
    live = [
        *_lavfi_inputs("testsrc2", "160x90", LIVE_SEGMENT_COUNT, 880),
        *_X264, *_fixed_gop(25),
        "-c:a", "aac", "-b:a", "32k", "-ac", "1",
        "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod",
        "-start_number", "0",
        "-hls_segment_filename", str(root / "live" / "seg_%05d.ts"),
        str(root / "live" / "source.m3u8"),
    ]  # fmt: skip
    return [progressive, index_at_end, dash, hls_vod, live]


def is_generated(root: Path) -> bool:
    """True if `root` holds a complete generation of the current MEDIA_VERSION."""
    marker = Path(root) / MARKER_NAME
    try:
        return marker.read_text().strip() == MEDIA_VERSION
    except OSError:
        return False


def generate_media(root: Path) -> None:
    """Generate all test media into `root`, unless a complete generation of the same
    MEDIA_VERSION is already there. Safe against concurrent callers (an flock on a sibling
    lock file), and an interrupted run is redone because the marker is written last."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_generated(root):
            _generate_clips(root)
        _generate_page(root / "page")


def _generate_page(page: Path) -> None:
    """page/: the web page, its poster and its subtitles (PAGE_VERSION)."""
    marker = page / MARKER_NAME
    if marker.exists() and marker.read_text().strip() == PAGE_VERSION:
        return
    shutil.rmtree(page, ignore_errors=True)
    page.mkdir()
    subprocess.run(
        [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x180:duration=1", "-frames:v", "1", "-q:v", "4",
         str(page / "poster.jpg")],
        check=True, stdout=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    (page / "captions.en.vtt").write_text(
        f"WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n{PAGE_CAPTION}\n\n"
        "00:00:04.000 --> 00:00:09.000\nThe second caption\n"
    )
    (page / "video.html").write_text(
        f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{PAGE_TITLE}</title></head>
<body><video controls poster="poster.jpg">
<source src="../progressive.mp4" type="video/mp4">
<track kind="subtitles" srclang="en" label="English" src="captions.en.vtt">
</video></body></html>
"""
    )
    marker.write_text(PAGE_VERSION + "\n")


def _generate_clips(root: Path) -> None:
    """Everything but page/ (MEDIA_VERSION)."""
    for name in _GENERATED_ENTRIES:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for sub in ("dash", "hls_vod", "live"):
        (root / sub).mkdir()

    # The encodes are independent: run them side by side (the live one dominates).
    procs = [
        subprocess.Popen(
            [FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-y", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in _generation_jobs(root)
    ]
    failures = []
    for proc in procs:
        _, stderr = proc.communicate()
        if proc.returncode:
            failures.append(f"{' '.join(proc.args)}\n{stderr}")
    if failures:
        raise RuntimeError("ffmpeg failed generating test media:\n" + "\n".join(failures))

    files, durations = _parse_media_playlist((root / "live" / "source.m3u8").read_text())
    if len(files) != LIVE_SEGMENT_COUNT:
        raise RuntimeError(f"expected {LIVE_SEGMENT_COUNT} live segments, got {len(files)}")
    (root / "live" / "segments.json").write_text(
        json.dumps({"files": files, "durations": durations})
    )
    (root / MARKER_NAME).write_text(MEDIA_VERSION + "\n")


def _parse_media_playlist(text: str) -> tuple[list[str], list[float]]:
    """(segment URIs, EXTINF durations) of a simple HLS media playlist."""
    segments = m3u8.loads(text).segments
    return [segment.uri for segment in segments], [segment.duration for segment in segments]


def load_live_segments(root: Path) -> tuple[list[str], list[float]]:
    """(file names relative to root/live, durations in seconds) of the live material."""
    data = json.loads((Path(root) / "live" / "segments.json").read_text())
    return data["files"], data["durations"]


# --------------------------------------------------------------------------------------------
# ffprobe helpers


def ffprobe(path: str | Path) -> dict[str, Any]:
    """Parsed `ffprobe -show_format -show_streams` JSON of a file (or URL)."""
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode:
        raise RuntimeError(f"ffprobe failed on {path}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def duration(path: str | Path) -> float:
    """Container duration in seconds."""
    return float(ffprobe(path)["format"]["duration"])


def codecs(path: str | Path) -> dict[str, list[str]]:
    """Codec names by stream type, e.g. {"video": ["h264"], "audio": ["aac"]}. The "video" and
    "audio" keys are always present; other stream types (data, subtitle) appear if found."""
    found: dict[str, list[str]] = {"video": [], "audio": []}
    for stream in ffprobe(path).get("streams", []):
        found.setdefault(stream.get("codec_type", "unknown"), []).append(
            stream.get("codec_name", "unknown")
        )
    return found
