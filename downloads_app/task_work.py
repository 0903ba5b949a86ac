"""A task's work, as its child process does it (supervisor.py): yt-dlp, ffmpeg, and the
finished file moved into the task's directory; and what the child tells the worker over
its pipe (Channel: the phase, progress) and how the work ended (Outcome)."""

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from downloads_app import errors, media, ytdlp
from downloads_app.directories import task_dir
from downloads_app.limits import Limits
from downloads_app.models import Task, TaskType

# The phases a child reports; each has its own limit (supervisor.py's docstring).
EXTRACTING = "extracting"
DOWNLOADING = "downloading"
CONVERTING = "converting"  # ffmpeg on local files: bounded by the deadline and the disk

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
    source = downloaded.path
    if downloaded.needs_cut:
        source = media.cut(
            source, task.start_time, task.end_time, task.force_keyframes, work_dir,
            audio_only=task.is_audio,
        )  # fmt: skip
    if task.is_audio:
        result = media.finalize_audio(source, task.output_format, work_dir)
    else:
        result = media.finalize_video(source, task.output_format, work_dir)
    file_name = f"{task.file_stem}{result.suffix}"
    os.replace(result, final_dir / file_name)
    return Outcome(file_name=file_name, title=downloaded.title)


def child_work(task: Task, work_dir: Path, quota=None):
    """The task's work as its child process runs it: expected failures are the outcome's
    user-facing error; anything else is an internal error (supervisor._run_child).
    `quota`: what the task's byte quotas leave it (quotas.QuotaRoom), or None."""

    def work(channel: Channel) -> Outcome:
        try:
            return _produce(task, work_dir, channel, quota)
        except errors.DownloadFailed as exc:
            return Outcome(
                error=str(exc), error_detail=exc.detail, error_code=exc.code,
                retry_after=exc.retry_after,
            )  # fmt: skip
        except media.ConversionFailed as exc:
            return Outcome(error=str(exc), error_code=errors.ErrorCode.CONVERSION_FAILED)

    return work
