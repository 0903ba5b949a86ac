"""ffprobe and ffmpeg: turning what yt-dlp produced into the requested output_format.

The result must really be in the requested container and codec family (an `mp3`
request yields an MP3 stream), so each target lists the codecs it can carry. Streams whose
codec fits are copied (fast, lossless); the others are re-encoded.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from downloads_app import timecodes


class ConversionFailed(Exception):
    pass


@dataclass(frozen=True)
class Target:
    muxer: str  # ffmpeg's -f
    video_codecs: frozenset = frozenset()  # what may be copied
    audio_codecs: frozenset = frozenset()
    video_encoder: tuple = ()  # ffmpeg arguments when it must be re-encoded
    audio_encoder: tuple = ()
    extra: tuple = ()

    def accepts_all_codecs(self):
        return not self.video_codecs and not self.audio_codecs


X264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
VP9 = (
    "-c:v",
    "libvpx-vp9",
    "-deadline",
    "realtime",
    "-cpu-used",
    "8",
    "-row-mt",
    "1",
    "-crf",
    "33",
    "-b:v",
    "0",
)
AAC = ("-c:a", "aac", "-b:a", "160k")
MP3 = ("-c:a", "libmp3lame", "-q:a", "2")

VIDEO_TARGETS = {
    "mp4": Target(
        "mp4",
        frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"}),
        frozenset({"aac", "mp3", "opus", "ac3", "eac3", "flac", "alac"}),
        X264,
        AAC,
        ("-movflags", "+faststart"),
    ),
    "mov": Target(
        "mov",
        frozenset({"h264", "hevc", "mpeg4", "prores", "mjpeg"}),
        frozenset({"aac", "mp3", "alac", "pcm_s16le"}),
        X264,
        AAC,
        ("-movflags", "+faststart"),
    ),
    "mkv": Target("matroska", video_encoder=X264, audio_encoder=AAC),
    "webm": Target(
        "webm",
        frozenset({"vp8", "vp9", "av1"}),
        frozenset({"opus", "vorbis"}),
        VP9,
        ("-c:a", "libopus", "-b:a", "128k"),
    ),
    "avi": Target(
        "avi",
        frozenset({"h264", "mpeg4", "mjpeg"}),
        frozenset({"mp3", "ac3", "pcm_s16le"}),
        X264,
        MP3,
    ),
    "flv": Target("flv", frozenset({"h264"}), frozenset({"aac", "mp3"}), X264, AAC),
    "3gp": Target(
        "3gp",
        frozenset({"h264", "h263", "mpeg4"}),
        frozenset({"aac", "amr_nb"}),
        X264,
        AAC,
    ),
}

AUDIO_TARGETS = {
    "mp3": Target("mp3", audio_codecs=frozenset({"mp3"}), audio_encoder=MP3),
    "m4a": Target(
        "ipod",
        audio_codecs=frozenset({"aac", "alac"}),
        audio_encoder=AAC,
        extra=("-movflags", "+faststart"),
    ),
    "aac": Target("adts", audio_codecs=frozenset({"aac"}), audio_encoder=AAC),
    "opus": Target(
        "opus", audio_codecs=frozenset({"opus"}), audio_encoder=("-c:a", "libopus", "-b:a", "128k")
    ),
    "ogg": Target(
        "ogg", audio_codecs=frozenset({"vorbis"}), audio_encoder=("-c:a", "libvorbis", "-q:a", "5")
    ),
    "flac": Target("flac", audio_codecs=frozenset({"flac"}), audio_encoder=("-c:a", "flac")),
    "wav": Target(
        "wav", audio_codecs=frozenset({"pcm_s16le"}), audio_encoder=("-c:a", "pcm_s16le")
    ),
}

# With no output_format, audio keeps its codec, in the file type that codec is known by.
AUDIO_EXTENSION_BY_CODEC = {
    "aac": "m4a",
    "mp3": "mp3",
    "opus": "opus",
    "vorbis": "ogg",
    "flac": "flac",
    "alac": "m4a",
    "pcm_s16le": "wav",
}

# ffprobe's format_name for the file types yt-dlp produces.
CONTAINER_FAMILY = {
    "mp4": "mp4",
    "m4a": "mp4",
    "mov": "mp4",
    "3gp": "mp4",
    "mkv": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "flv": "flv",
    "ts": "mpegts",
}


@dataclass
class Probe:
    format_name: str
    video_codec: str | None
    audio_codec: str | None
    duration: float | None


def ffprobe_command(source: str, input_args=()) -> list[str]:
    """The ffprobe command that describes `source` (a file, or a URL with `input_args`
    saying how to reach it) as JSON: {"format": ..., "streams": [...]}."""
    return [
        "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
        *input_args, source,
    ]  # fmt: skip


def ffprobe_json(source: str, timeout: float = 120) -> dict:
    """ffprobe's description of a local file (ffprobe_command)."""
    completed = subprocess.run(
        ffprobe_command(source), capture_output=True, text=True, timeout=timeout, check=True
    )
    return json.loads(completed.stdout)


def probe(path: Path) -> Probe:
    try:
        data = ffprobe_json(str(path))
    except FileNotFoundError:
        raise ConversionFailed("ffprobe is not installed on the server") from None
    except subprocess.CalledProcessError as exc:
        raise ConversionFailed(
            f"ffprobe could not read the download: {exc.stderr.strip()}"
        ) from None
    streams = data.get("streams", [])

    def first_codec(kind):
        return next(
            # Cover art is a video stream too; it is not the video.
            (
                s.get("codec_name")
                for s in streams
                if s.get("codec_type") == kind and not s.get("disposition", {}).get("attached_pic")
            ),
            None,
        )

    duration = data.get("format", {}).get("duration")
    return Probe(
        format_name=data.get("format", {}).get("format_name", ""),
        video_codec=first_codec("video"),
        audio_codec=first_codec("audio"),
        duration=float(duration) if duration else None,
    )


def _run_ffmpeg(args: list[str]) -> None:
    try:
        completed = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise ConversionFailed("ffmpeg is not installed on the server") from None
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise ConversionFailed(f"ffmpeg failed to convert the download: {detail[0]}")


def _codec_args(target: Target, info: Probe, kind: str) -> list[str]:
    codec = info.video_codec if kind == "video" else info.audio_codec
    allowed = target.video_codecs if kind == "video" else target.audio_codecs
    if codec is None:
        return []
    if target.accepts_all_codecs() or codec in allowed:
        return ["-c:v" if kind == "video" else "-c:a", "copy"]
    return list(target.video_encoder if kind == "video" else target.audio_encoder)


def _is_already(path: Path, ext: str, target: Target, info: Probe) -> bool:
    family = CONTAINER_FAMILY.get(ext)
    if path.suffix.lstrip(".") != ext or family is None or family not in info.format_name:
        return False
    video_ok = (
        info.video_codec is None
        or target.accepts_all_codecs()
        or (info.video_codec in target.video_codecs)
    )
    audio_ok = (
        info.audio_codec is None
        or target.accepts_all_codecs()
        or (info.audio_codec in target.audio_codecs)
    )
    return video_ok and audio_ok


def finalize_video(source: Path, output_format: str, work_dir: Path) -> Path:
    """The video file to publish: `source` itself when it already is what was asked for,
    otherwise a remux (or, for codecs the container cannot carry, a re-encode)."""
    ext = output_format or source.suffix.lstrip(".")
    target = VIDEO_TARGETS.get(ext, VIDEO_TARGETS["mkv"])
    info = probe(source)
    if info.video_codec is None:
        raise ConversionFailed("the download has no video stream")
    if _is_already(source, ext, target, info):
        return source
    if ext not in VIDEO_TARGETS:  # e.g. a source-own .ts: keep its streams, in Matroska
        ext = "mkv"
    destination = work_dir / f"converted.{ext}"
    streams = ["-map", "0:v:0", "-map", "0:a:0?"]
    codecs = [*_codec_args(target, info, "video"), *_codec_args(target, info, "audio")]
    _write(source, destination, target, [*streams, *codecs])
    return destination


def finalize_audio(source: Path, output_format: str, work_dir: Path) -> Path:
    """An audio-only file in output_format (or, without one, in the source's codec)."""
    info = probe(source)
    if info.audio_codec is None:
        raise ConversionFailed("the download has no audio stream")
    ext = output_format or AUDIO_EXTENSION_BY_CODEC.get(info.audio_codec, "mka")
    target = AUDIO_TARGETS.get(ext) or Target("matroska", audio_encoder=AAC)
    copy = info.audio_codec in target.audio_codecs or ext == "mka"
    destination = work_dir / f"converted.{ext}"
    codec_args = ["-c:a", "copy"] if copy else list(target.audio_encoder)
    _write(source, destination, target, ["-map", "0:a:0", "-vn", *codec_args])
    return destination


def cut(
    source: Path, start: float | None, end: float | None, exact: bool, work_dir: Path,
    audio_only: bool = False,
) -> Path:  # fmt: skip
    """The part of `source` from `start` to `end` (seconds; None: its start or end), in
    the same container: what yt-dlp's ffmpeg makes of a URL for a clip, made of a file
    downloaded whole (ytdlp.clip_needs_whole_file).

    As yt-dlp does it: `-ss` before the input, so the streams are copied from the keyframe
    at or before `start`; `exact` (force_keyframes) re-encodes instead, with ffmpeg's
    codecs for the container, so the cut is at `start` itself. An audio task drops the
    video here, which it would drop in finalize_audio anyway, so none is re-encoded.
    """
    if outside := timecodes.clip_outside_media(start, probe(source).duration):
        raise ConversionFailed(outside)
    offset = start or 0.0
    timing = ["-ss", f"{offset:.3f}"]
    if end is not None:
        timing += ["-t", f"{end - offset:.3f}"]
    codecs = [] if exact else ["-c", "copy"]
    streams = ["-vn"] if audio_only else []
    destination = work_dir / f"clip{source.suffix}"
    _run_ffmpeg([*timing, "-i", str(source), *streams, *codecs, str(destination)])
    source.unlink()  # the whole file: only the clip is kept on the disk
    return destination


def _write(source: Path, destination: Path, target: Target, stream_args: list[str]) -> None:
    """ffmpeg from source to destination in target's container; subtitles and data
    streams are dropped, since most containers cannot carry the source's kinds."""
    _run_ffmpeg(
        ["-i", str(source), *stream_args, "-sn", "-dn", *target.extra, "-f", target.muxer,
         str(destination)]
    )  # fmt: skip
