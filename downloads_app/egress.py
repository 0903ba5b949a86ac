"""A guarded HTTP forward proxy on loopback, through which ffmpeg reaches the network.

yt-dlp hands some downloads to ffmpeg (clips, live recordings). ffmpeg opens its own
connections: playlist, segments, redirects. None of them pass through the connection guard
in connection_guard.py, so an allowed host could point ffmpeg at the internal network. ffmpeg is
therefore told to use this relay as its HTTP proxy (`-http_proxy`), and the relay applies
url_policy to every request: it resolves the target host, refuses it when any of its
addresses is not allowed, and otherwise connects to a vetted address itself, so a second
DNS answer cannot differ from the one checked.

- `GET`/`HEAD` of an absolute `http://` URL: forwarded as one request per connection.
- `CONNECT host:port` (ffmpeg's way to reach `https://`): a tunnel to the vetted address.
- With an upstream proxy (YTDLP_PROXY), the relay checks first and then goes through it.

A refused request is answered 403, logged and remembered (`refusals`); the listeners
registered with `on_refusal` are called, so the download can stop at once rather than
produce a file with holes.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import select
import socket
import socketserver
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from downloads_app import url_policy

logger = logging.getLogger("ytdlphost.egress")

IDLE_TIMEOUT = 30.0  # seconds without a byte in either direction end a relayed exchange
MAX_HEADER_BYTES = 64 * 1024  # a request or response head larger than this is refused
BUFFER = 64 * 1024
# Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = {
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
}


class Refused(Exception):
    """The target may not be reached (url_policy), or the request is not one we relay."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


class EgressRelay:
    """`with EgressRelay(upstream_proxy) as relay:` ffmpeg's proxy is `relay.url`."""

    def __init__(self, upstream_proxy: str = ""):
        self.upstream: _Upstream | None = None
        self._upstream_error = ""
        if upstream_proxy:
            try:
                self.upstream = _parse_upstream(upstream_proxy)
            except ValueError as exc:  # a socks proxy: ffmpeg's downloads fail, not all
                self._upstream_error = str(exc)
        self.refusals: list[str] = []
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self.url = ""

    def on_refusal(self, listener: Callable[[str], None]) -> None:
        """Call `listener(message)` whenever a request is refused (from a relay thread)."""
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> EgressRelay:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.relay = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="EgressRelay", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            # serve_forever() sees shutdown() only when its select() on the listening
            # socket returns, which idle takes its poll interval (0.5 s): every get_info
            # of a direct file and every download waited that long here. Shutting the
            # socket for reading wakes the select() at once on Linux; elsewhere (an
            # OSError) shutdown() still ends the loop at its next poll.
            with contextlib.suppress(OSError):
                self._server.socket.shutdown(socket.SHUT_RD)
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EgressRelay:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _refused(self, message: str) -> None:
        logger.warning("egress relay refused a request: %s", message)
        with self._lock:
            self.refusals.append(message)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(message)

    def connect(self, host: str, port: int) -> socket.socket:
        """A connection towards host:port, checked; to the upstream proxy when there is one.

        With an upstream proxy the proxy resolves the name again; the check here still
        refuses every name that resolves to an internal address on this host.
        """
        try:
            addresses = url_policy.allowed_addresses(host)
        except url_policy.URLNotAllowed as exc:
            raise Refused(f"a request to {host} {exc}") from None
        if self._upstream_error:
            raise OSError(self._upstream_error)
        if self.upstream is not None:
            return socket.create_connection(self.upstream.address, timeout=IDLE_TIMEOUT)
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout=IDLE_TIMEOUT)
            except OSError as exc:
                error = exc
        raise error or OSError(f"cannot connect to {host}")


class _Upstream:
    def __init__(self, host: str, port: int, authorization: str | None):
        self.address = (host, port)
        self.authorization = authorization


def _parse_upstream(proxy: str) -> _Upstream:
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    parts = urlsplit(proxy)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ValueError(f"ffmpeg can only use an http:// proxy, not {proxy!r}")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    return _Upstream(parts.hostname, parts.port or 80, authorization)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    relay: EgressRelay

    def handle_error(self, request, client_address) -> None:
        logger.debug("egress relay: connection from %s failed", client_address, exc_info=True)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.connection.settimeout(IDLE_TIMEOUT)
        relay = self.server.relay
        try:
            method, target, headers = self._read_request()
        except (OSError, ValueError):
            return
        try:
            if method == "CONNECT":
                self._tunnel(relay, target)
            elif method in ("GET", "HEAD"):
                self._forward(relay, method, target, headers)
            else:
                raise Refused(f"method {method} is not relayed", status=405)
        except Refused as exc:
            if exc.status == 403:
                relay._refused(str(exc))
            self._answer(exc.status, str(exc))
        except OSError as exc:
            self._answer(502, f"upstream connection failed: {exc}")

    def _read_request(self) -> tuple[str, str, list[tuple[str, str]]]:
        lines = _read_head(self.rfile)
        method, target, _version = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return method.upper(), target, headers

    def _answer(self, status: int, message: str) -> None:
        body = (message + "\n").encode()
        reason = {403: "Forbidden", 405: "Method Not Allowed", 400: "Bad Request"}.get(
            status, "Bad Gateway"
        )
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):  # the client may be gone already
            self.wfile.write(head.encode() + body)

    def _tunnel(self, relay: EgressRelay, target: str) -> None:
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise Refused(f"bad CONNECT target {target!r}", status=400)
        upstream = relay.connect(host, int(port))
        with upstream:
            if relay.upstream is not None:
                _upstream_connect(upstream, relay.upstream, target)
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _splice(self.connection, upstream)

    def _forward(self, relay: EgressRelay, method: str, target: str, headers) -> None:
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise Refused(f"only absolute http:// URLs are relayed, not {target!r}", status=400)
        upstream = relay.connect(parts.hostname, parts.port or 80)
        with upstream:
            if relay.upstream is not None:
                request_target = target
                extra = [("Proxy-Authorization", relay.upstream.authorization)]
                extra = [header for header in extra if header[1]]
            else:
                request_target = parts.path or "/"
                if parts.query:
                    request_target += f"?{parts.query}"
                extra = []
            kept = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]
            # One request per connection: a kept-alive client connection could otherwise
            # carry a second request, to another host, past the check.
            lines = [f"{method} {request_target} HTTP/1.1"]
            lines += [f"{n}: {v}" for n, v in [*kept, *extra, ("Connection", "close")]]
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            self._relay_response(upstream, head_only=method == "HEAD")

    def _relay_response(self, upstream: socket.socket, head_only: bool) -> None:
        reader = upstream.makefile("rb")
        lines = _read_head(reader)
        status_line, fields = lines[0], lines[1:]
        kept = [f for f in fields if f.partition(":")[0].strip().lower() not in HOP_BY_HOP]
        head = "\r\n".join([status_line, *kept, "Connection: close"]) + "\r\n\r\n"
        self.wfile.write(head.encode("latin-1"))
        status = int(status_line.split(" ", 2)[1])
        if head_only or status in (204, 304) or 100 <= status < 200:
            return
        length = _content_length(fields)
        while length is None or length > 0:
            chunk = reader.read1(BUFFER if length is None else min(BUFFER, length))
            if not chunk:
                return
            self.wfile.write(chunk)
            if length is not None:
                length -= len(chunk)


def _read_head(reader) -> list[str]:
    """The lines of an HTTP message head, up to the blank line."""
    lines, size = [], 0
    while True:
        line = reader.readline(MAX_HEADER_BYTES + 1)
        size += len(line)
        if not line or size > MAX_HEADER_BYTES:
            raise ValueError("incomplete or oversized message head")
        line = line.rstrip(b"\r\n")
        if not line:
            if not lines:
                continue
            return lines
        lines.append(line.decode("latin-1"))


def _content_length(fields: list[str]) -> int | None:
    lengths = {
        value.strip()
        for name, _, value in (f.partition(":") for f in fields)
        if name.strip().lower() == "content-length"
    }
    chunked = any(
        name.strip().lower() == "transfer-encoding"
        for name, _, _ in (f.partition(":") for f in fields)
    )
    if chunked or len(lengths) != 1 or not next(iter(lengths)).isdigit():
        return None  # until the upstream closes, as "Connection: close" asked
    return int(next(iter(lengths)))


def _upstream_connect(upstream: socket.socket, proxy: _Upstream, target: str) -> None:
    request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if proxy.authorization:
        request += f"Proxy-Authorization: {proxy.authorization}\r\n"
    upstream.sendall((request + "\r\n").encode("latin-1"))
    reader = upstream.makefile("rb", buffering=0)
    lines = _read_head(reader)
    status = lines[0].split(" ", 2)[1]
    if status != "200":
        raise OSError(f"the upstream proxy answered {lines[0]!r} to CONNECT {target}")


def _splice(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until one side closes or both are idle for IDLE_TIMEOUT."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], IDLE_TIMEOUT)
        if not readable:
            return
        for source in readable:
            data = source.recv(BUFFER)
            if not data:
                return
            (upstream if source is client else client).sendall(data)
