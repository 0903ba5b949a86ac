"""The attacker's world, for security tests on the real stack.

- `HostileServer` stands for a public site the attacker controls. It listens on 127.0.0.2
  and answers whatever a test scripts: a page, a playlist, a redirect, a body dripped one
  byte at a time. The stack under attack allows it through
  `ALLOWED_PRIVATE_NETWORKS=127.0.0.2/32`.
- The canary stands for the operator's internal network: a `MediaServer` on 127.0.0.1 that
  serves real media (so an attack that reaches it would succeed) and counts every request.
  `ALLOW_PRIVATE_URLS=false` forbids it; a security test asserts it was never reached.

`attack_env()` is the stack environment that matches: use it with `tests.support.stack.LiveStack`.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOSTILE_HOST = "127.0.0.2"
INTERNAL_HOST = "127.0.0.1"


def attack_env(**extra: str) -> dict[str, str]:
    """LiveStack environment of a default installation facing the hostile server."""
    return {
        "ALLOW_PRIVATE_URLS": "false",
        "ALLOWED_PRIVATE_NETWORKS": f"{HOSTILE_HOST}/32",
        **extra,
    }


@dataclass
class Reply:
    """One scripted answer. `body` may be a callable(handler) that writes the whole
    response itself (for drips, endless bodies and other misbehaviour)."""

    body: bytes | str | Callable[[BaseHTTPRequestHandler], None] = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class HostileServer:
    """Scripted HTTP server on 127.0.0.2: `server.route("/page", Reply(...))`."""

    def __init__(self, host: str = HOSTILE_HOST):
        self.host = host
        self.routes: dict[str, Reply] = {}
        self.hits: Counter[str] = Counter()
        self.request_headers: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.base_url = ""

    def route(self, path: str, reply: Reply) -> str:
        """Answer `path` with `reply`; returns its absolute URL."""
        self.routes[path] = reply
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, Reply(status=status, headers={"Location": location}))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits[path]

    def start(self) -> HostileServer:
        self._httpd = _Server((self.host, 0), _handler_for(self))
        self.base_url = f"http://{self.host}:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, name="Hostile", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def drip(payload: bytes, every: float, content_type: str = "video/mp4") -> Reply:
    """A body sent one byte every `every` seconds: a slow upstream holding a worker."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        for byte in payload:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return Reply(body=write)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a hostile body is the point of most tests


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def do_GET(self) -> None:
            self._answer(head=False)

        def _answer(self, head: bool) -> None:
            path = urllib.parse.urlsplit(self.path).path
            with server._lock:
                server.hits[path] += 1
                server.request_headers.append((path, dict(self.headers.items())))
            reply = server.routes.get(path)
            if reply is None:
                self.send_error(404)
                return
            if callable(reply.body):
                reply.body(self)
                return
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

    return Handler


def endless(
    chunk: bytes = b"<p>" + b"x" * 65533 + b"\n", limit: int = 50 * 1024**2, status: int = 200
) -> Reply:
    """An HTML body of `limit` bytes without a Content-Length, written as long as the client
    reads; `reply.sent` counts the bytes it got out (to show a client stopped early)."""
    reply = Reply()
    reply.sent = 0  # type: ignore[attr-defined]

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        while reply.sent < limit:  # type: ignore[attr-defined]
            try:
                handler.wfile.write(chunk)
            except OSError:
                return
            reply.sent += len(chunk)  # type: ignore[attr-defined]

    reply.body = write
    return reply


class ForwardProxy:
    """An operator's forward proxy on 127.0.0.2 that fetches any absolute http:// URL it is
    asked for, internal or not (it has no rules): whatever it must not reach, the service
    must not ask it for. `count()` is the number of requests it relayed."""

    def __init__(self, host: str = HOSTILE_HOST):
        self.host = host
        self.requested: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None
        self.base_url = ""

    def count(self) -> int:
        return len(self.requested)

    def __enter__(self) -> ForwardProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                import http.client

                proxy.requested.append(self.path)
                target = urllib.parse.urlsplit(self.path)
                upstream = http.client.HTTPConnection(target.hostname, target.port or 80)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream.request("GET", path or "/", headers=headers)
                response = upstream.getresponse()
                body = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                upstream.close()

        self._httpd = _Server((self.host, 0), Handler)
        self.base_url = f"http://{self.host}:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, name="Proxy", daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
