"""A local HTTP server of the synthetic media (tests/support/media_files.py) for tests that
drive yt-dlp offline.

`MediaServer` serves a directory on 127.0.0.1 with proper Content-Type and Range support (or,
with `honour_ranges=False`, as a server that answers every request whole), and emulates a
live HLS stream whose playlist advances with the wall clock.

Live URLs served by `MediaServer` (not files on disk):
    /live_dvr/index.m3u8         same timeline, window of `dvr_window` segments ("rewind")
    /live/seq_000042.ts          segment with media sequence number 42 (same under /live_dvr/);
                                 maps to live/seg_{42 % 600}.ts, 404 until it is "published"

This module deliberately has no Django (or pytest) imports.

This module deliberately has no Django (or pytest) imports.
"""

from __future__ import annotations

import bisect
import collections
import email.utils
import mimetypes
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.media_files import load_live_segments

__all__ = ["CONTENT_TYPES", "MediaServer", "RequestRecord"]

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".m4v": "video/mp4",
    ".m4s": "video/iso.segment",
    ".mpd": "application/dash+xml",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".webm": "video/webm",
    ".json": "application/json",
    # The page with captions' subtitles and poster (media_files.py's page/).
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
}

_LIVE_PLAYLIST = re.compile(r"^/(?P<name>[\w-]+)/index\.m3u8$")
_LIVE_SEGMENT = re.compile(r"^/(?P<name>[\w-]+)/seq_(?P<seq>\d+)\.ts$")
_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # URL path, without the query string
    status: int
    range: str | None  # the Range request header, if any
    query: str = ""  # the raw query string, if any


class _LiveTimeline:
    """Maps wall-clock time to published segments.

    Media sequence number n is file n % N in cycle n // N of the live material; it ends at
    `cycle * total + cum[n % N]` seconds of virtual time. Virtual time starts where segment
    `initial_offset` begins, so that `initial_offset` segments are already published when the
    server starts, and then runs with the clock.
    """

    def __init__(self, files: list[str], durations: list[float], initial_offset: int):
        self.files = files
        self.durations = durations
        self.ends = list(_accumulate(durations))
        self.total = self.ends[-1]
        self.target_duration = max(1, int(-(-max(durations) // 1)))  # ceil
        self.initial_offset = initial_offset
        self.origin = self.end_time(initial_offset - 1)

    def end_time(self, seq: int) -> float:
        if seq < 0:
            return 0.0
        cycle, index = divmod(seq, len(self.files))
        return cycle * self.total + self.ends[index]

    def edge(self, elapsed: float) -> int:
        """Sequence number of the newest segment completely published after `elapsed` s."""
        cycle, rem = divmod(self.origin + max(0.0, elapsed), self.total)
        return int(cycle) * len(self.files) + bisect.bisect_right(self.ends, rem + 1e-9) - 1

    def playlist(self, edge: int, window: int) -> str:
        n = len(self.files)
        first = max(0, edge - window + 1)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
        ]
        if first // n:  # wraps that scrolled out of the window still count
            lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{first // n}")
        for seq in range(first, edge + 1):
            if seq and seq % n == 0:  # timestamps jump back when the material wraps around
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXTINF:{self.durations[seq % n]:.6f},")
            lines.append(f"seq_{seq:06d}.ts")
        return "\n".join(lines) + "\n"  # no EXT-X-ENDLIST: it is live


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


class MediaServer:
    """Serves `root` on http://127.0.0.1:<ephemeral port> plus emulated live HLS playlists.

    Usage: `with MediaServer(root) as server: server.url("progressive.mp4")`.

    With `honour_ranges=False` every file is sent whole with 200, whatever the request's
    `Range` says, and without `Accept-Ranges`: a server that cannot seek, as some simple
    servers and CDNs are.

    `live_windows` maps a URL prefix to the number of segments its playlist lists; by default
    /live/ (6 segments) and /live_dvr/ (120). All prefixes share one timeline. `clock` can be
    replaced (e.g. by a fake) to control the live edge in tests.
    """

    def __init__(
        self,
        root: Path,
        *,
        live_window: int = 6,
        dvr_window: int = 120,
        initial_offset: int = 30,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        honour_ranges: bool = True,
    ):
        if initial_offset < 1:
            raise ValueError("initial_offset must be >= 1")
        self.root = Path(root).resolve()
        self.host = host
        self.honour_ranges = honour_ranges
        self.live_windows = {"live": live_window, "live_dvr": dvr_window}
        self.clock = clock
        self.base_url = ""
        self.port = 0
        self.request_counts: collections.Counter[str] = collections.Counter()
        self.requests_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._timeline: _LiveTimeline | None = None
        if (self.root / "live" / "segments.json").exists():
            files, durations = load_live_segments(self.root)
            self._timeline = _LiveTimeline(files, durations, initial_offset)

    # -- lifecycle

    def start(self) -> MediaServer:
        if self._httpd is not None:
            return self
        self._httpd = _QuietHTTPServer((self.host, 0), _make_handler(self))
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self._started_at = self.clock()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="MediaServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers for tests

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def count(self, path: str) -> int:
        """Number of requests (any method/status) for a URL path such as "/live/index.m3u8"."""
        with self._lock:
            return self.request_counts["/" + path.lstrip("/")]

    def count_query(self, path: str, query: str) -> int:
        """Number of requests for a URL path with exactly this query string."""
        path = "/" + path.lstrip("/")
        with self._lock:
            return sum(1 for r in self.requests_log if r.path == path and r.query == query)

    def records(self) -> list[RequestRecord]:
        """A snapshot of the request log."""
        with self._lock:
            return list(self.requests_log)

    def clear_log(self) -> None:
        with self._lock:
            self.request_counts.clear()
            self.requests_log.clear()

    def live_edge(self) -> int:
        """Media sequence number of the newest published live segment."""
        if self._timeline is None:
            raise RuntimeError(f"no live material under {self.root}")
        return self._timeline.edge(self.clock() - self._started_at)

    def live_playlist(self, name: str = "live") -> str:
        """The current text of /<name>/index.m3u8."""
        if self._timeline is None:
            raise RuntimeError(f"no live material under {self.root}")
        return self._timeline.playlist(self.live_edge(), self.live_windows[name])

    def _record(
        self, method: str, path: str, status: int, range_header: str | None, query: str = ""
    ) -> None:
        with self._lock:
            self.request_counts[path] += 1
            self.requests_log.append(RequestRecord(method, path, status, range_header, query))

    # -- request handling, called from handler threads

    def _resolve(self, path: str) -> tuple[Path | None, str | None, bytes | None]:
        """(file to serve, content type, or generated body) for a URL path; (None, None, None)
        if there is nothing there."""
        if self._timeline is not None:
            if (m := _LIVE_PLAYLIST.match(path)) and m["name"] in self.live_windows:
                body = self.live_playlist(m["name"]).encode()
                return None, CONTENT_TYPES[".m3u8"], body
            if (m := _LIVE_SEGMENT.match(path)) and m["name"] in self.live_windows:
                seq = int(m["seq"])
                if seq > self.live_edge():
                    return None, None, None  # not published yet
                name = self._timeline.files[seq % len(self._timeline.files)]
                return self.root / "live" / name, CONTENT_TYPES[".ts"], None

        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None, None, None
        content_type = CONTENT_TYPES.get(target.suffix.lower())
        if content_type is None:
            content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return target, content_type, None


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """Inclusive (start, end) for a single-range `Range` header; None to ignore the header
    and send the whole body (absent, malformed or multi-range, as RFC 9110 allows); False if
    the range is unsatisfiable (416)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or not (m["start"] or m["end"]):
        return None
    if m["start"]:
        start = int(m["start"])
        end = min(int(m["end"]), size - 1) if m["end"] else size - 1
        if m["end"] and int(m["end"]) < start:
            return None  # syntactically invalid: ignore
        if start >= size:
            return False
        return start, end
    suffix = int(m["end"])  # "bytes=-N": the last N bytes
    if suffix == 0 or size == 0:
        return False
    return max(0, size - suffix), size - 1


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # never wait for handler threads (e.g. idle keep-alive) on close

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (ffmpeg and yt-dlp do it routinely) is not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


def _make_handler(server: MediaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 for keep-alive, as ffmpeg and yt-dlp reuse connections; every response
        # therefore carries an exact Content-Length.
        protocol_version = "HTTP/1.1"
        server_version = "TestMediaServer/1"
        timeout = 30  # drop idle keep-alive connections eventually

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests assert on server.requests_log instead

        def send_response(self, code: int, message: str | None = None) -> None:
            # Every response, including send_error's, passes through here: log it once.
            target = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(target.path)
            server._record(self.command, path, int(code), self.headers.get("Range"), target.query)
            super().send_response(code, message)

        def _serve(self, head: bool) -> None:
            target = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(target.path)
            query = urllib.parse.parse_qs(target.query)
            if path == "/redirect" and "to" in query:
                # /redirect?to=<url>: a 302 hop, for tests of what a redirect may reach.
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", query["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            # ?rate=<bytes per second> serves a file slowly, for tests of running tasks.
            rate = int(query["rate"][0]) if "rate" in query else 0
            file, content_type, body = server._resolve(path)
            if file is None and body is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            if body is not None:
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                if not head:
                    self._write(body)
                return

            size = file.stat().st_size
            byte_range = (
                _parse_range(self.headers.get("Range"), size) if server.honour_ranges else None
            )
            if byte_range is False:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = byte_range or (0, size - 1)
            length = max(0, end - start + 1)
            self.send_response(HTTPStatus.PARTIAL_CONTENT if byte_range else HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            if server.honour_ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.send_header(
                "Last-Modified", email.utils.formatdate(file.stat().st_mtime, usegmt=True)
            )
            if byte_range:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head or not length:
                return
            with open(file, "rb") as fh:
                fh.seek(start)
                remaining = length
                while remaining:
                    chunk = fh.read(min(remaining, 64 * 1024))
                    if rate:
                        chunk = chunk[: max(1, rate // 10)]
                    if not chunk or not self._write(chunk):
                        return
                    remaining -= len(chunk)
                    if rate:
                        fh.seek(start + length - remaining)
                        time.sleep(0.1)

        def _write(self, data: bytes) -> bool:
            """Write to the client; False (and close) if it went away mid-body."""
            try:
                self.wfile.write(data)
                return True
            except ConnectionError:
                self.close_connection = True
                return False

    return Handler
