"""The length of media its key has looked up already, so that a clip outside it is refused
when it is asked for rather than by its task.

The service fetches nothing when a task is created; but the web page (and many a client)
runs a get_info task of a URL, for its qualities, before downloading from it, and that
task's info.json says how long the media is.
"""

import logging

from downloads_app import storage
from downloads_app.models import Task, TaskStatus, TaskType

logger = logging.getLogger("ytdlphost.tasks")


def known_length(api_key, url: str) -> float | None:
    """Seconds, from the key's latest completed get_info task of `url`; None when there is
    none, or its document has no duration."""
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
        duration = storage.read_json(task_id, file_name).get("duration")
    except (OSError, ValueError, AttributeError) as exc:  # removed by cleanup meanwhile, ...
        logger.info("task %s: could not read the media's length: %s", task_id, exc)
        return None
    return float(duration) if isinstance(duration, int | float) and duration > 0 else None
