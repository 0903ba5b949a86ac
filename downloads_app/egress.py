"""A guarded HTTP forward proxy on loopback, through which ffmpeg reaches the network.

yt-dlp hands some downloads to ffmpeg (clips, live recordings). ffmpeg opens its own
connections: playlist, segments, redirects. None of them pass through the connection guard
in connection_guard.py, so an allowed host could point ffmpeg at the internal network. ffmpeg is
therefore given this relay as its HTTP proxy (`http_proxy`), and the relay applies
url_policy to every request: it resolves the target host, refuses it when any of its
addresses is not allowed, and otherwise connects to a vetted address itself, so a second
DNS answer cannot differ from the one checked. What ffmpeg sends and what servers answer
is parsed and framed by h11, strictly: a malformed head is answered, never relayed.

- `GET`/`HEAD` of an absolute `http://` URL: forwarded as one request per connection,
  without a body (a request that declares one is refused); the answer is framed anew.
- `CONNECT host:port` (ffmpeg's way to reach `https://`): a tunnel to the vetted address.
- With an upstream proxy (YTDLP_PROXY), the relay checks first and then goes through it.

The relay serves its own download only. Anything on this host can connect to a loopback
port, so each relay has a random credential, which ffmpeg finds in the userinfo of its
proxy URL (`relay.proxy_url`, given in its environment, not on its world-readable command
line) and sends as `Proxy-Authorization: Basic` once the relay asks for it with a 407, as
ffmpeg's http and httpproxy protocols do. A request without it gets that 407 and nothing
else: it is not relayed, and it is not a refusal.

A refused request of the download is answered 403, logged and remembered (`refusals`);
the listeners registered with `on_refusal` are called, so the download can stop at once
rather than produce a file with holes.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import secrets
import select
import socket
import socketserver
import threading
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

import h11

from downloads_app import url_policy

logger = logging.getLogger("ytdlphost.egress")

IDLE_TIMEOUT = 30.0  # seconds without a byte in either direction end a relayed exchange
MAX_HEADER_BYTES = 64 * 1024  # a request or response head larger than this is refused
BUFFER = 64 * 1024
# Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = {
    b"connection",
    b"proxy-connection",
    b"keep-alive",
    b"proxy-authorization",
    b"proxy-authenticate",
    b"te",
    b"trailer",
    b"upgrade",
}
# Nor is a request's framing: h11 frames what the relay sends (it never sends a body).
NOT_FORWARDED = HOP_BY_HOP | {b"content-length", b"transfer-encoding"}
# How the relay asks for its credential (RFC 9110, 11.7.1).
PROXY_CHALLENGE = ("Proxy-Authenticate", 'Basic realm="ytdlphost egress relay"')
# The user name in the relay's credential; only the password, random per relay, is secret.
CREDENTIAL_USER = "ffmpeg"


class Refused(Exception):
    """The target may not be reached (url_policy), or the request is not one we relay."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


class EgressRelay:
    """`with EgressRelay(upstream_proxy) as relay:` ffmpeg's proxy is `relay.proxy_url`,
    which carries the credential (module docstring)."""

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
        self._password = secrets.token_urlsafe(32)
        credential = f"{CREDENTIAL_USER}:{self._password}".encode()
        self._authorization = "Basic " + base64.b64encode(credential).decode()
        self.proxy_url = ""

    def on_refusal(self, listener: Callable[[str], None]) -> None:
        """Call `listener(message)` whenever a request is refused (from a relay thread)."""
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> EgressRelay:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.relay = self
        port = self._server.server_address[1]
        self.proxy_url = f"http://{CREDENTIAL_USER}:{self._password}@127.0.0.1:{port}"
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

    def authorizes(self, headers: list[tuple[str, str]]) -> bool:
        """Whether a request's headers carry this relay's credential."""
        given = [v for n, v in headers if n.lower() == "proxy-authorization"]
        expected = self._authorization.encode()
        return len(given) == 1 and hmac.compare_digest(given[0].encode("latin-1"), expected)

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


class _Handler(socketserver.BaseRequestHandler):
    """One exchange per connection. h11 parses what the client sends and what the upstream
    answers, and frames what the relay sends either way. A request head it refuses (no
    version, a bare CR or a NUL, a space before a colon, over MAX_HEADER_BYTES) is answered
    400 or 431 and never relayed; a folded line joins its header's value rather than
    becoming a header; an upstream answer it refuses is a 502 (test_egress_relay.py)."""

    server: _Server

    def setup(self) -> None:
        self.request.settimeout(IDLE_TIMEOUT)
        self.client = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.answering_head = False

    def handle(self) -> None:
        relay = self.server.relay
        try:
            request = _next_event(self.client, self.request)
        except h11.RemoteProtocolError as exc:
            self._answer(exc.error_status_hint, f"a malformed request: {exc}")
            return
        except OSError:
            return
        if not isinstance(request, h11.Request):
            return  # the client left before sending a whole request
        method = request.method.decode("ascii").upper()
        self.answering_head = method == "HEAD"
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers]
        if not relay.authorizes(headers):
            # ffmpeg's first request on each connection, or a stranger's: either way not
            # a refusal, which would stop the download.
            logger.debug("egress relay: a request without the credential was asked for it")
            self._answer(407, "the relay's credential is required", [PROXY_CHALLENGE])
            return
        target = request.target.decode("ascii")  # h11 let only visible ASCII through
        try:
            if method not in ("CONNECT", "GET", "HEAD"):
                raise Refused(f"method {method} is not relayed", status=405)
            if _declares_body(request):
                # ffmpeg sends none; forwarding the framing without the body would leave
                # the upstream waiting for it, or reading the next bytes as one.
                raise Refused("a request with a body is not relayed", status=400)
            if method == "CONNECT":
                self._tunnel(relay, target)
            else:
                self._forward(relay, request, target)
        except Refused as exc:
            if exc.status == 403:
                relay._refused(str(exc))
            self._answer(exc.status, str(exc))
        except h11.RemoteProtocolError as exc:  # only the upstream is read from by now
            self._answer(502, f"the upstream's answer is malformed: {exc}")
        except OSError as exc:
            self._answer(502, f"upstream connection failed: {exc}")

    def _send(self, event) -> None:
        self.request.sendall(self.client.send(event))

    def _answer(self, status: int, message: str, extra_headers=()) -> None:
        body = (message + "\n").encode()
        headers = [
            ("Content-Type", "text/plain"),
            *extra_headers,
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        reason = HTTPStatus(status).phrase
        try:
            data = self.client.send(
                h11.Response(status_code=status, reason=reason, headers=headers)
            )
            if not self.answering_head:
                data += self.client.send(h11.Data(data=body))
            data += self.client.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            return  # an answer was under way already: closing the connection ends it
        with contextlib.suppress(OSError):  # the client may be gone already
            self.request.sendall(data)

    def _tunnel(self, relay: EgressRelay, target: str) -> None:
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise Refused(f"bad CONNECT target {target!r}", status=400)
        upstream = relay.connect(host, int(port))
        with upstream:
            from_upstream = b""
            if relay.upstream is not None:
                from_upstream = _upstream_connect(upstream, relay.upstream, target)
            self._send(h11.Response(status_code=200, reason="Connection established", headers=[]))
            # What either side sent right behind its head is the tunnel's first bytes.
            from_client, _ = self.client.trailing_data
            upstream.sendall(from_client)
            self.request.sendall(from_upstream)
            _splice(self.request, upstream)

    def _forward(self, relay: EgressRelay, request: h11.Request, target: str) -> None:
        parts = urlsplit(target)
        try:
            port = parts.port or 80
        except ValueError:
            port = 0
        if parts.scheme.lower() != "http" or not parts.hostname or not port:
            raise Refused(f"only absolute http:// URLs are relayed, not {target!r}", status=400)
        authority = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        authority += "" if port == 80 else f":{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        upstream = relay.connect(parts.hostname, port)
        with upstream:
            if relay.upstream is not None:
                # The URL rebuilt from what was checked, not the one received: a proxy that
                # read that one another way ("http://a#@b/") could fetch another host.
                request_target = f"http://{authority}{path}"
                extra = [("Proxy-Authorization", relay.upstream.authorization)]
                extra = [header for header in extra if header[1]]
            else:
                request_target = path
                extra = []
            kept = [
                (n, v) for n, v in request.headers.raw_items() if n.lower() not in NOT_FORWARDED
            ]
            if not any(n.lower() == b"host" for n, _ in kept):  # an HTTP/1.0 request's
                kept.append((b"Host", authority.encode("ascii")))
            # One request per connection: a kept-alive client connection could otherwise
            # carry a second request, to another host, past the check.
            server = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
            forwarded = h11.Request(
                method=request.method,
                target=request_target,
                headers=[*kept, *extra, ("Connection", "close")],
            )
            upstream.sendall(server.send(forwarded) + server.send(h11.EndOfMessage()))
            self._relay_response(server, upstream)

    def _relay_response(self, server: h11.Connection, upstream: socket.socket) -> None:
        """The upstream's final answer, to the client, framed anew by h11 (a body of
        unknown length is sent chunked, so a cut-off one shows as cut off)."""
        response = _final_response(server, upstream)
        kept = [(n, v) for n, v in response.headers.raw_items() if n.lower() not in HOP_BY_HOP]
        headers = [*kept, ("Connection", "close")]
        self._send(
            h11.Response(status_code=response.status_code, reason=response.reason, headers=headers)
        )
        while isinstance(event := _next_event(server, upstream), h11.Data):
            self._send(h11.Data(data=event.data))
        if isinstance(event, h11.EndOfMessage):
            self._send(h11.EndOfMessage())


def _next_event(connection: h11.Connection, sock: socket.socket):
    """The next h11 event of `connection`, reading from `sock` while it needs data."""
    while (event := connection.next_event()) is h11.NEED_DATA:
        connection.receive_data(sock.recv(BUFFER))
    return event


def _final_response(connection: h11.Connection, sock: socket.socket) -> h11.Response:
    """The answer to the request sent on `connection`, after any 1xx (such as 103 Early
    Hints, which ffmpeg would take for the answer)."""
    event = _next_event(connection, sock)
    while isinstance(event, h11.InformationalResponse):
        event = _next_event(connection, sock)
    if not isinstance(event, h11.Response):
        raise OSError("the upstream closed the connection without an answer")
    return event


def _declares_body(request: h11.Request) -> bool:
    return any(
        name == b"transfer-encoding" or (name == b"content-length" and value != b"0")
        for name, value in request.headers
    )


def _upstream_connect(upstream: socket.socket, proxy: _Upstream, target: str) -> bytes:
    """A tunnel to target through the upstream proxy; the bytes it sent behind its answer."""
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
    headers = [("Host", target)]
    if proxy.authorization:
        headers.append(("Proxy-Authorization", proxy.authorization))
    request = h11.Request(method="CONNECT", target=target, headers=headers)
    upstream.sendall(connection.send(request) + connection.send(h11.EndOfMessage()))
    try:
        response = _final_response(connection, upstream)
    except h11.RemoteProtocolError as exc:
        raise OSError(
            f"the upstream proxy's answer to CONNECT {target} is malformed: {exc}"
        ) from None
    if response.status_code != 200:
        raise OSError(
            f"the upstream proxy answered {response.status_code} {response.reason.decode()!r}"
            f" to CONNECT {target}"
        )
    return connection.trailing_data[0]


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
