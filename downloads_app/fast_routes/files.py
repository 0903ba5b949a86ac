"""`GET /files/<id>/<name>` off Django's request cycle: the common case only, a completed
task's file on the disk (or one of its extra files: Task.published_names), whole, small
enough to send in one body (info.json, a short clip's audio, subtitles, a thumbnail).
Everything else (a file in a bucket, STORAGE=s3; a Range, a query such as info.json's
`?title`, a playlist's ZIP, a larger file, no such task or file, an expired task, a key
that may not see it) is left to FileView, so its answers stay the view's."""

import functools
import os
import stat
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse

from downloads_app import directories, files, storage
from downloads_app.fast_routes.rows import key_and_task, task_by_id
from downloads_app.models import Task, TaskStatus
from keys_app.authentication import HEADER
from ytdlphost import fast_path, view_headers

# Larger files are left to FileView, which streams them: read whole here they would hold a
# thread and their size in memory for the whole send, and for them the request's own cost
# is a small part of the transfer's.
FAST_FILE_MAX_BYTES = 1024 * 1024


def file_answer(request: fast_path.FastRequest) -> fast_path.Answer | None:
    if request.query or "range" in request.headers or not fast_path.accepts_json(request):
        return None
    if storage.remote():
        return None  # in a bucket: FileView's redirect or stream (storage.file_response)
    task = visible_completed_task(request)
    name = request.path_params["name"]
    if task is None or task.is_playlist or name not in task.published_names():
        return None
    directory = directories.task_dir(task.id)
    body = small_file(directory, name)
    if body is None:
        return None
    disposition = files.task_disposition(task, name)
    headers = [
        (b"content-type", files.content_type(directory / name).encode("latin-1")),
        (b"content-disposition", disposition.encode()),
        (b"accept-ranges", b"bytes"),
        *never_kept_headers(),
    ]
    return fast_path.Answer(200, body, headers)


@functools.cache
def never_kept_headers() -> tuple:
    """What files.never_kept adds to FileView's every answer."""
    response = HttpResponse()
    del response.headers["Content-Type"]
    files.never_kept(response)
    return view_headers.encoded(response)


def small_file(directory: Path, name: str) -> bytes | None:
    """The file's content when it is a regular file of at most FAST_FILE_MAX_BYTES, right
    in `directory`, with no link on the way; None for anything else, which FileView then
    judges (files.is_inside: it may follow links that stay inside). Cheaper than
    resolving every component of the path, as is_inside does: the name is a single path
    segment (the route's), so neither a link nor a separator can lead elsewhere."""
    try:
        if not stat.S_ISDIR(os.lstat(directory).st_mode):
            return None
        descriptor = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # missing, or a link (ELOOP)
        return None
    with open(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size > FAST_FILE_MAX_BYTES:
            return None
        # At most one byte past the limit: a file that grew past it is left to the view.
        body = handle.read(FAST_FILE_MAX_BYTES + 1)
    return body if len(body) <= FAST_FILE_MAX_BYTES else None


def visible_completed_task(request: fast_path.FastRequest) -> Task | None:
    """The task, when it is completed and, with FILES_REQUIRE_KEY, the request's key may
    see it (APIKey.may_see); None otherwise."""
    task_id = request.path_params["task_id"]
    if settings.FILES_REQUIRE_KEY:
        secret = request.headers.get(HEADER.lower())
        found = key_and_task(secret, task_id) if secret else None
        if found is None:
            return None
        api_key, task = found
        api_key.touch()
    else:
        task = task_by_id(task_id)
    return task if task is not None and task.status == TaskStatus.COMPLETED else None
