"""Completed task rows with their file on disk, as a worker would have left them, for
tests of what /files and its fast route answer (tests/downloads_app/test_files.py,
test_fast_files.py)."""

from django.conf import settings

from downloads_app.models import Task

# An info.json of a get_info task: audio-only, video-only and storyboard formats, some
# fields missing, a size only approximate.
INFO = {
    "title": "Fixture",
    "duration": 10,
    "formats": [
        {"format_id": "a1", "vcodec": "none", "acodec": "mp4a.40.2", "abr": 128,
         "audio_channels": 2, "filesize": 1000},
        {"format_id": "v1", "vcodec": "avc1", "acodec": "none", "height": 144, "width": 256,
         "fps": 25, "format_note": "144p", "dynamic_range": "SDR", "filesize_approx": 5000},
        {"format_id": "v2", "vcodec": "avc1", "acodec": "none", "height": 360},
        {"format_id": "sb0", "vcodec": "none", "acodec": "none", "ext": "mhtml"},
    ],
}  # fmt: skip


def completed_task(api_key, name, content, task_type="get_video"):
    """A completed task of `api_key` whose file `name` holds `content`."""
    task = Task.objects.create(
        api_key=api_key, task_type=task_type, url="http://example.com/v", status="completed",
        file_name=name,
    )  # fmt: skip
    directory = settings.DOWNLOAD_DIR / task.id
    directory.mkdir(parents=True)
    (directory / name).write_bytes(content)
    return task
