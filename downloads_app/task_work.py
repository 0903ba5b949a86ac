"""A task's work, as its child process does it (supervisor.py): yt-dlp, ffmpeg, and the
finished file moved into the task's directory."""

import json
import os
from pathlib import Path

from django.conf import settings

from downloads_app import media, supervisor, ytdlp
from downloads_app.lifecycle import task_dir
from downloads_app.models import Task, TaskType


def _write_json_atomically(data: dict, destination: Path, work_dir: Path) -> None:
    temporary = work_dir / destination.name
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, destination)


def _produce(task: Task, work_dir: Path, channel: supervisor.Channel) -> supervisor.Outcome:
    """Do the task's work (in the task's child process); returns the published file's
    name and the media's title."""
    final_dir = task_dir(task.id)
    if task.is_playlist:
        playlist = ytdlp.list_playlist(task.url, task.playlist_items, settings.PLAYLIST_MAX_ITEMS)
        entries = [entry._asdict() for entry in playlist.entries]
        return supervisor.Outcome(title=playlist.title, entries=entries)
    if task.task_type == TaskType.GET_INFO:
        info = ytdlp.extract_metadata(task.url)
        _write_json_atomically(info, final_dir / "info.json", work_dir)
        return supervisor.Outcome(file_name="info.json", title=ytdlp.title_of(info))
    limits = ytdlp.Limits.from_settings()
    limits.check_disk()
    downloaded = ytdlp.download(
        task, work_dir, channel.progress_hook, limits,
        on_extracted=lambda: channel.phase(supervisor.DOWNLOADING),
    )  # fmt: skip
    channel.phase(supervisor.CONVERTING)
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
    return supervisor.Outcome(file_name=file_name, title=downloaded.title)


def _work(task: Task, work_dir: Path):
    """The task's work as its child process runs it: expected failures are the outcome's
    user-facing error; anything else is an internal error (supervisor._run_child)."""

    def work(channel: supervisor.Channel) -> supervisor.Outcome:
        try:
            return _produce(task, work_dir, channel)
        except ytdlp.DownloadFailed as exc:
            return supervisor.Outcome(error=str(exc), error_detail=exc.detail)
        except media.ConversionFailed as exc:
            return supervisor.Outcome(error=str(exc))

    return work
