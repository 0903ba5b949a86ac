"""Serving a task's file: streamed from disk, with HTTP Range support."""

import mimetypes
import os
import re
from pathlib import Path

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse

CHUNK_SIZE = 256 * 1024
RANGE_HEADER = re.compile(r"^bytes=(\d*)-(\d*)$")

mimetypes.add_type("audio/mp4", ".m4a")
mimetypes.add_type("audio/aac", ".aac")
mimetypes.add_type("audio/ogg", ".opus")
mimetypes.add_type("audio/ogg", ".ogg")
mimetypes.add_type("audio/flac", ".flac")
mimetypes.add_type("video/x-matroska", ".mkv")
mimetypes.add_type("video/webm", ".webm")
mimetypes.add_type("video/x-flv", ".flv")
mimetypes.add_type("video/3gpp", ".3gp")
mimetypes.add_type("video/mp2t", ".ts")


def content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single satisfiable range; None to send the whole file.

    Raises ValueError when the range cannot be satisfied (416).
    """
    match = RANGE_HEADER.match(header.strip())
    if not match:
        return None  # multiple or malformed ranges: RFC 9110 allows ignoring the header
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            raise ValueError("empty suffix range")
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError("range not satisfiable")
    return start, end


def _read_range(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def file_response(request, path: Path) -> HttpResponse:
    size = path.stat().st_size
    try:
        byte_range = parse_range(request.headers.get("Range", ""), size) if size else None
    except ValueError:
        response = JsonResponse({"error": "Range not satisfiable"}, status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115  (FileResponse closes it)
            as_attachment=True,
            filename=path.name,
            content_type=content_type(path),
        )
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            _read_range(path, start, end - start + 1),
            status=206,
            content_type=content_type(path),
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = f'attachment; filename="{path.name}"'
    response["Accept-Ranges"] = "bytes"
    return response


def is_inside(path: Path, directory: Path) -> bool:
    """True when path, with every link resolved, is a regular file inside directory."""
    real = Path(os.path.realpath(path))
    return real.is_file() and real.parent == Path(os.path.realpath(directory))
