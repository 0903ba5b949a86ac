"""The length and size of media its key has looked up already, so that a clip outside it
is refused when it is asked for rather than by its task, and a download that its byte
quota cannot hold is refused at once (quotas.py).

The service fetches nothing when a task is created; but the web page (and many a client)
runs a get_info task of a URL, for its qualities, before downloading from it, and that
task's info.json says how long the media is, and how large each of its formats.
"""

import logging
import math

from downloads_app import storage, ytdlp_options
from downloads_app.models import Task, TaskStatus, TaskType

logger = logging.getLogger("ytdlphost.tasks")


def known_length(api_key, url: str) -> float | None:
    """Seconds, from the key's latest completed get_info task of `url`; None when there is
    none, or its document has no duration."""
    return _duration(_looked_up(api_key, url))


def _duration(info: dict | None) -> float | None:
    duration = (info or {}).get("duration")
    return float(duration) if isinstance(duration, int | float) and duration > 0 else None


def known_size(api_key, task: Task) -> int | None:
    """The bytes `task` will download, from its key's latest completed get_info of its
    URL: the sizes (`filesize`, else yt-dlp's `filesize_approx`) of the formats its
    selector picks there, as yt-dlp would pick them; of a clip, the share of the media's
    length it covers (a stream's bytes are about even over its length). None when there
    is no such document, a picked format has no size, or the task is live or a playlist
    (its size is not in the document)."""
    if task.is_live or task.is_playlist or task.task_type == TaskType.GET_INFO:
        return None
    info = _looked_up(api_key, task.url)
    if info is None:
        return None
    try:
        formats = ytdlp_options.selected_formats(task, info)
    except Exception as exc:  # a document yt-dlp's selector cannot read: no estimate
        logger.info("task %s: could not pick formats from its info.json: %s", task.id, exc)
        return None
    sizes = [fmt.get("filesize") or fmt.get("filesize_approx") for fmt in formats]
    if not sizes or not all(isinstance(size, int | float) and size > 0 for size in sizes):
        return None
    size = sum(sizes)
    duration = _duration(info)
    if duration and ytdlp_options.is_clip(task):
        start = min(task.start_time or 0.0, duration)
        end = min(task.end_time if task.end_time is not None else duration, duration)
        size = size * max(0.0, end - start) / duration
    return math.ceil(size) or None


def _looked_up(api_key, url: str) -> dict | None:
    """The info.json of the key's latest completed get_info task of `url`, or None."""
    looked_up = (
        Task.objects.filter(
            api_key=api_key, task_type=TaskType.GET_INFO, url=url, status=TaskStatus.COMPLETED
        )
        .order_by("-finished_at")
        .values_list("id", "file_name")
        .first()
    )
    if looked_up is None:
        return None
    task_id, file_name = looked_up
    try:
        info = storage.read_json(task_id, file_name)
    except (OSError, ValueError) as exc:  # removed by cleanup meanwhile, ...
        logger.info("task %s: could not read its info.json: %s", task_id, exc)
        return None
    return info if isinstance(info, dict) else None
