"""A task's work, as its child process does it (supervisor.py): yt-dlp, ffmpeg, the
finished file moved into the task's directory, then kept (storage.keep: its size, and
with a bucket the upload of the task's folder); and what the child tells the worker over
its pipe (Channel: the phase, progress) and how the work ended (Outcome)."""

import dataclasses
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from downloads_app import (
    clip_times,
    errors,
    library,
    media,
    naming,
    sponsorblock,
    storage,
    ytdlp,
    ytdlp_options,
)
from downloads_app.directories import task_dir
from downloads_app.limits import Limits
from downloads_app.media_options import MediaOptions
from downloads_app.models import EXTRA_SUBTITLES, EXTRA_THUMBNAIL, Task, TaskType

# The phases a child reports; each has its own limit (supervisor.py's docstring).
EXTRACTING = "extracting"
DOWNLOADING = "downloading"
CONVERTING = "converting"  # ffmpeg on local files: bounded by the deadline and the disk
UPLOADING = "uploading"  # into the bucket (STORAGE=s3): bounded by the deadline

# The child sends progress at most this often; the worker writes it to the database at
# most once per heartbeat.PROGRESS_INTERVAL.
PROGRESS_SEND_INTERVAL = 0.25


@dataclass
class Outcome:
    """How a task's work ended: the published file's name and the media's title, or the
    user-facing error, yt-dlp's own message behind it (when there is one), its code and
    the seconds to wait before trying again (errors.ErrorCode, errors.classify), or
    neither when the worker was interrupted (`interrupted`) and the task must run again.
    It crosses the pipe from the child as JSON: plain values only."""

    file_name: str = ""
    file_size: int | None = None
    error: str = ""
    error_detail: str = ""
    error_code: str = ""
    retry_after: int | None = None
    title: str = ""
    interrupted: bool = False
    # Interrupted because the worker could not reach the database for its lease.
    cut_off: bool = False
    # A playlist's listing: its entries, as {"position", "url", "title"}.
    entries: list = dataclasses.field(default_factory=list)
    # Published beside file_name: Task.extra_files, [{"name", "size", "kind"}].
    extra_files: list = dataclasses.field(default_factory=list)
    # Where the file was placed in the library (Task.library_path); "": not placed. And
    # every file placed there, its extra files too, for a run whose result is discarded.
    library_path: str = ""
    library_files: list = dataclasses.field(default_factory=list)


class Channel:
    """The child's end of the pipe: phases, progress and the outcome, for the worker."""

    def __init__(self, fd: int):
        self._pipe = os.fdopen(fd, "w", encoding="utf-8", buffering=1)  # a line, a write
        self._last_progress = 0.0

    def send(self, **message) -> None:
        self._pipe.write(json.dumps(message) + "\n")

    def phase(self, name: str) -> None:
        self.send(phase=name)

    def progress_hook(self, status: dict) -> None:
        """A yt-dlp progress hook. Each file's last count is sent too (`finished`): the
        byte quotas count what each file of the download wrote (supervisor.py)."""
        if status.get("status") not in ("downloading", "finished"):
            return
        now = time.monotonic()
        finished = status["status"] == "finished"
        if not finished and now - self._last_progress < PROGRESS_SEND_INTERVAL:
            return
        self._last_progress = now
        fields = ("status", "downloaded_bytes", "total_bytes", "total_bytes_estimate")
        progress = {name: status.get(name) for name in (*fields, "speed", "eta")}
        # `filename`, which both states carry (the final name; `tmpfilename` is the .part).
        progress["file"] = status.get("filename") or status.get("tmpfilename")
        if finished and progress["downloaded_bytes"] is None:
            progress["downloaded_bytes"] = status.get("total_bytes")
        self.send(progress=progress)


def _write_json_atomically(data: dict, destination: Path, work_dir: Path) -> None:
    temporary = work_dir / destination.name
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, destination)


def _produce(task: Task, work_dir: Path, channel: Channel, quota=None) -> Outcome:
    """Do the task's work (in the task's child process); returns the published file's
    name and the media's title."""
    final_dir = task_dir(task.id)
    if task.is_playlist:
        playlist = ytdlp.list_playlist(task.url, task.playlist_items, settings.PLAYLIST_MAX_ITEMS)
        entries = [entry._asdict() for entry in playlist.entries]
        return Outcome(title=playlist.title, entries=entries)
    if task.task_type == TaskType.GET_INFO:
        info = ytdlp.extract_metadata(task.url)
        _write_json_atomically(info, final_dir / "info.json", work_dir)
        return Outcome(file_name="info.json", title=ytdlp.title_of(info))
    limits = Limits.from_settings()
    limits.quota = quota
    limits.check_disk()
    downloaded = ytdlp.download(
        task, work_dir, channel.progress_hook, limits,
        on_extracted=lambda: channel.phase(DOWNLOADING),
    )  # fmt: skip
    channel.phase(CONVERTING)
    if ytdlp_options.is_clip(task):
        _cut_to_clip(downloaded, task.start_time, task.end_time)
    source = downloaded.path
    if downloaded.needs_cut:
        source = media.cut(
            source, task.start_time, task.end_time, task.force_keyframes, work_dir,
            audio_only=task.is_audio,
        )  # fmt: skip
    source = sponsorblock.apply(task, downloaded.info, source, work_dir)
    if task.is_audio:
        result = media.finalize_audio(source, task.output_format, work_dir)
    else:
        result = media.finalize_video(source, task.output_format, work_dir)
    # Embedded into the file in its final container, which the steps above would not
    # keep them through (media.py copies the video and audio only).
    options = MediaOptions.of(task.media_options)
    ext = result.suffix.lstrip(".")
    ytdlp.post_process(result, downloaded, options.postprocessors(ext), audio_only=task.is_audio)
    fields = naming.task_fields(task, downloaded.name_fields or {})
    file_name = _file_name(task, fields, result.suffix)
    os.replace(result, final_dir / file_name)
    embedded = options.embeds_subtitles(ext)
    extra_files = _publish_extra_files(downloaded, embedded, final_dir, file_name)
    outcome = Outcome(file_name=file_name, title=downloaded.title, extra_files=extra_files)
    if task.library:
        placement = _place_in_library(final_dir, outcome, fields)
        outcome.library_path, outcome.library_files = placement.path, placement.files
    return outcome


def _file_name(task: Task, fields: dict, suffix: str) -> str:
    """The published file's name: the request's `filename` template rendered, else the
    type's default (video.mp4)."""
    if not task.filename_template:
        return f"{task.file_stem}{suffix}"
    return naming.parse(task.filename_template).render(fields, suffix.lstrip("."))


def _place_in_library(final_dir: Path, outcome: Outcome, fields: dict) -> library.Placement:
    """Place the published file and its extra files in the library (library.py). A
    failure fails the task (library.LibraryFailed): a file that was asked for the
    library and is not there would vanish at cleanup unnoticed."""
    extension = Path(outcome.file_name).suffix.lstrip(".")
    relative = library.template().render(fields, extension)
    extras = [(final_dir / extra["name"], extra) for extra in outcome.extra_files]
    return library.place(final_dir / outcome.file_name, relative, extras)


def _subtitle_files(downloaded: ytdlp.Downloaded) -> list[tuple[str, dict, Path]]:
    """(language, yt-dlp's entry, file) of each subtitle the download wrote."""
    subtitles = (downloaded.info or {}).get("requested_subtitles") or {}
    found = []
    for language, subtitle in subtitles.items():
        path = Path(subtitle.get("filepath") or "")
        if path.is_file():
            found.append((str(language), subtitle, path))
    return found


def _cut_to_clip(downloaded: ytdlp.Downloaded, start, end) -> None:
    """A clip's subtitles and chapters, cut as the clip is (clip_times.py; subtitles of
    other formats whole)."""
    for _, subtitle, path in _subtitle_files(downloaded):
        if subtitle.get("ext") in clip_times.CUT_FORMATS:
            clip_times.cut_subtitles(path, start, end)
    if downloaded.info and downloaded.info.get("chapters"):
        downloaded.info["chapters"] = clip_times.clip_chapters(
            downloaded.info["chapters"], start, end
        )


# What a name part taken from the site (a subtitle's language, its format) may hold.
UNSAFE_NAME_PART = re.compile(r"[^A-Za-z0-9_-]")


def _publish_extra_files(
    downloaded: ytdlp.Downloaded, embedded: bool, final_dir: Path, file_name: str
) -> list[dict]:
    """Move the download's subtitles that are not in the file (`embedded` false, or a
    format no container takes, JSON) and its thumbnail into the task's directory beside
    `file_name`, named as media servers look for them ("video.en.vtt", "video.jpg");
    returns their Task.extra_files entries."""
    stem = Path(file_name).stem
    moves = []
    for language, subtitle, path in _subtitle_files(downloaded):
        if embedded and subtitle.get("ext") != "json":
            continue
        language = UNSAFE_NAME_PART.sub("_", language)[:40]
        extension = UNSAFE_NAME_PART.sub("_", path.suffix.lstrip("."))[:10]
        moves.append((path, f"{stem}.{language}.{extension}", EXTRA_SUBTITLES))
    if downloaded.thumbnail is not None:
        moves.append((downloaded.thumbnail, f"{stem}.jpg", EXTRA_THUMBNAIL))
    published = []
    for path, name, kind in moves:
        if name == file_name or any(extra["name"] == name for extra in published):
            continue  # two languages the site names alike once made safe: the first
        os.replace(path, final_dir / name)
        published.append({"name": name, "size": (final_dir / name).stat().st_size, "kind": kind})
    return published


def child_work(task: Task, work_dir: Path, quota=None):
    """The task's work as its child process runs it: expected failures are the outcome's
    user-facing error; anything else is an internal error (supervisor._run_child).
    `quota`: what the task's byte quotas leave it (quotas.QuotaRoom), or None."""

    def work(channel: Channel) -> Outcome:
        try:
            outcome = _produce(task, work_dir, channel, quota)
            if outcome.file_name:
                if storage.remote():
                    channel.phase(UPLOADING)
                outcome.file_size = storage.keep(task.id, task_dir(task.id), outcome.file_name)
            return outcome
        except storage.StorageFailed as exc:
            return Outcome(error=str(exc), error_code=errors.ErrorCode.STORAGE_FAILED)
        except errors.DownloadFailed as exc:
            return Outcome(
                error=str(exc), error_detail=exc.detail, error_code=exc.code,
                retry_after=exc.retry_after,
            )  # fmt: skip
        except media.ConversionFailed as exc:
            return Outcome(error=str(exc), error_code=errors.ErrorCode.CONVERSION_FAILED)

    return work
