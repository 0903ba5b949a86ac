"""Serving a task's file: streamed from disk, with HTTP Range support; a playlist's ZIP,
built as it is sent."""

import functools
import io
import mimetypes
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header

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
mimetypes.add_type("text/vtt", ".vtt")
mimetypes.add_type("application/x-subrip", ".srt")


# Characters no saved name may hold: controls, path separators, and what Windows refuses.
UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# Format characters (Unicode category Cf), among them the bidirectional overrides that
# make "evil\u202egpj.exe" display as "evilexe.jpg".
INVISIBLE_CATEGORIES = {"Cc", "Cf"}
# Longest saved name in UTF-8 bytes: file systems allow 255, and a browser or curl may add
# " (1)" to it.
MAX_NAME_BYTES = 200
# The saved name's ending for each stored name that is not "<stem>.<extension>" alone.
NAME_ENDINGS = {"info.json": ".info.json"}  # as yt-dlp's own --write-info-json names it


def _clean_title(title: str) -> str:
    title = unicodedata.normalize("NFC", title)
    title = "".join(c for c in title if unicodedata.category(c) not in INVISIBLE_CATEGORIES)
    title = UNSAFE_IN_NAME.sub("_", title)
    title = " ".join(title.split())
    return title.strip(". ")  # no hidden files, no names Windows trims


def _fit(stem: str, ending: str) -> str:
    room = MAX_NAME_BYTES - len(ending.encode())
    return stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ")


def published_ending(name: str, file_name: str) -> str:
    """The ending a client's saved name keeps of a stored name: a file beside the task's
    `file_name` keeps all that follows their shared stem, so that "video.en.vtt" beside
    "video.mp4" is saved as "<title>.en.vtt", where players look for it."""
    stem = Path(file_name).stem
    if name != file_name and name.startswith(f"{stem}."):
        return name[len(stem) :]
    return NAME_ENDINGS.get(name, Path(name).suffix)


def download_names(
    file_name: str, title: str, named: bool = False, ending: str | None = None
) -> tuple[str, str]:
    """(name, ASCII name) a client should save the file under: the media's title with the
    stored file's extension ("Big Buck Bunny.mp4"), or `ending` (published_ending); the
    stored name itself when the title leaves nothing usable, or when the file was `named`
    by the request's `filename` template (the name asked for is the name to save under)."""
    ending = ending if ending is not None else NAME_ENDINGS.get(file_name, Path(file_name).suffix)
    if named:
        title = file_name.removesuffix(ending)
    stem = _fit(_clean_title(title), ending)
    # The ASCII fallback: accents dropped (é -> e); no "%" (RFC 6266 advises against it:
    # some clients would decode it), no ";" (naive parsers split the header on it).
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = _fit(_clean_title(re.sub("[%;]", "_", ascii_stem)), ending)
    return _named(stem, ending, file_name), _named(ascii_stem, ending, file_name)


def _named(stem: str, ending: str, default: str) -> str:
    return f"{stem}{ending}" if any(c.isalnum() for c in stem) else default


def task_disposition(task, name: str | None = None) -> str:
    """The Content-Disposition of one of a task's published files (Task.published_names;
    its file when `name` is None), FileView's and the fast route's alike: a playlist's ZIP
    is saved under its title, whatever its entries' template."""
    name = name or task.file_name
    named = bool(task.filename_template) and not task.is_playlist
    return content_disposition(name, task.title, named, published_ending(name, task.file_name))


@functools.lru_cache(maxsize=1024)  # pure, and GET /files of a small file computes it each time
def content_disposition(
    file_name: str, title: str, named: bool = False, ending: str | None = None
) -> str:
    """`attachment` with the name from download_names, as RFC 6266 says: `filename=` in
    ASCII for every client (curl -OJ reads only this one), `filename*=` in UTF-8 (RFC
    8187) for those that read it (browsers prefer it).

    `attachment`, not `inline`: a browser following the link saves the file under this
    name instead of opening it in a tab (where "Save as" may not use the name), and a file
    from the service's origin is never displayed as a page of that origin. Media players
    and <video> elements ignore the header, so streaming and seeking are unaffected.

    Django's content_disposition_header writes the `filename=` part (the ASCII name is
    always quotable); it gives only one of the two parameters, and for a non-ASCII name
    only `filename*=`, under which curl -OJ would save the file under the URL's name
    (test_file_names.py shows it), so `filename*=` is added here.
    """
    name, ascii_name = download_names(file_name, title, named, ending)
    return (
        f"{content_disposition_header(True, ascii_name)}; filename*=UTF-8''{quote(name, safe='')}"
    )


def content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def never_kept(response: HttpResponse) -> None:
    """The URL is the secret: no shared cache (a proxy, a CDN) may keep the file or an
    answer about it, and browsers should not keep it on disk. Every answer of FileView."""
    patch_cache_control(response, private=True, no_store=True)


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


def file_response(request, path: Path, disposition: str) -> HttpResponse:
    """The file, or the requested range of it, with `disposition` as its
    Content-Disposition (content_disposition)."""
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
            content_type=content_type(path),
        )
        # Django's 4 KB blocks each cross from a thread to the event loop
        # (ytdlphost/asgi.py): 25 ms of CPU per MB, against 0.6 ms in CHUNK_SIZE pieces.
        response.block_size = CHUNK_SIZE
    else:
        start, end = byte_range
        response = StreamingHttpResponse(
            _read_range(path, start, end - start + 1),
            status=206,
            content_type=content_type(path),
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Content-Disposition"] = disposition
    response["Accept-Ranges"] = "bytes"
    return response


def is_inside(path: Path, directory: Path) -> bool:
    """True when path, with every link resolved, is a regular file inside directory."""
    real = Path(os.path.realpath(path))
    return real.is_file() and real.parent == Path(os.path.realpath(directory))


class _Outbox(io.RawIOBase):
    """Where zipfile writes a streamed archive: it keeps only what was written since it
    was last emptied. Not seekable, so zipfile writes each member's sizes and CRC after
    its data (a data descriptor) instead of going back for them."""

    def __init__(self):
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


ZipMember = tuple[zipfile.ZipInfo, Callable]  # its header (with its size), what opens its content


def local_zip_members(members: Iterable[tuple[Path, str]]) -> list[ZipMember]:
    """zip_stream's members from the disk: (path, name in the archive) each."""
    return [
        (zipfile.ZipInfo.from_file(path, name), functools.partial(open, path, "rb"))
        for path, name in members
    ]


def zip_stream(members: Iterable[ZipMember]) -> Iterator[bytes]:
    return (chunk for chunk in _zip_chunks(members) if chunk)


def _zip_chunks(members: Iterable[ZipMember]) -> Iterator[bytes]:
    """zip_stream's work: a ZIP of the members (each its header, with its size, and what
    opens its content: a file of the disk, an object of the bucket), yielded as it is
    built: one CHUNK_SIZE read at a time, never a member whole in memory or on disk.

    Stored, not deflated: media is compressed already, and a stored archive costs no CPU.
    Each member's size is known before it is written, so zipfile switches to ZIP64 on its
    own for files over 4 GiB.
    """
    outbox = _Outbox()
    with zipfile.ZipFile(outbox, "w", compression=zipfile.ZIP_STORED) as archive:
        for member, open_content in members:
            member.compress_type = zipfile.ZIP_STORED
            with open_content() as source, archive.open(member, "w") as target:
                while chunk := source.read(CHUNK_SIZE):
                    target.write(chunk)
                    yield outbox.take()
            yield outbox.take()
    yield outbox.take()  # the central directory, written as the archive closes


def playlist_member_names(entries: Iterable[tuple[int, str, str, bool, str]]) -> list[str]:
    """The members' names in their playlist's ZIP, of (position, stored name, title,
    named, ending): by default the entry's position, zero-padded to sort in playlist
    order, then the name download_names gives the file ("03 - Title.mp4"), or one of its
    extra files (`ending`: published_ending, "03 - Title.en.vtt"); a file `named` by the
    request's `filename` template keeps that name (its template may hold
    %(playlist_index)s), made unique with a suffix (" (2)") when two entries' templates
    give the same one."""
    entries = list(entries)
    width = len(str(max((entry[0] for entry in entries), default=1)))
    names, taken = [], set()
    for position, file_name, title, named, ending in entries:
        name = download_names(file_name, title, named, ending)[0]
        if not named:
            name = f"{position:0{width}d} - {name}"
        suffix = ending if ending and name.endswith(ending) else Path(name).suffix
        stem, number = name[: len(name) - len(suffix)], 1
        while name.casefold() in taken:
            number += 1
            name = f"{stem} ({number}){suffix}"
        taken.add(name.casefold())
        names.append(name)
    return names
