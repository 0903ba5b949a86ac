"""A webhook receiver for tests: an HTTP server that records every POST and answers from a
script.

`Receiver(statuses=[500, 500, 200])` answers 500 twice, then 200 (the last status
repeats); `Receiver(silent=True)` accepts connections and never answers;
`Receiver(drip=1.0)` sends its answer one byte a second, for minutes; `headers` are
added to every answer (a `Location` for redirects). `port` reuses a port chosen earlier,
for a receiver that is down and comes back.

`stalled_address(host)` is an address whose packets are dropped: a connection to it never
completes. `silent_name_server(host)` is a DNS server that never answers.

`wait_for_webhook(stack, key, task_id, state)` is a task's `webhook` in its /status once
it is in that state (a LiveStack's: tests/support/stack.py).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    def verified(self, secret: str) -> dict:
        """The event, once its signature is verified with the key's signing secret."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(
        self,
        statuses=(200,),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        silent: bool = False,
        drip: float | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.statuses = list(statuses)
        self.host, self.port = host, port
        self.silent = silent
        self.drip = drip
        self.headers = headers or {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def start(self) -> Receiver:
        self._httpd = _Server((self.host, self.port), _handler_for(self))
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, name="Receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The requests received, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise TimeoutError(f"{len(self.received)} webhook requests, not {count}")

    def _record(self, request: Received) -> int:
        with self._lock:
            self.received.append(request)
            index = len(self.received) - 1
        return self.statuses[min(index, len(self.statuses) - 1)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the sender hanging up on a silent receiver is the point


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = dict(self.headers.items())
            status = receiver._record(Received(self.path, headers, body, time.monotonic()))
            if receiver.silent:
                receiver._stopping.wait(120)
                return
            if receiver.drip is not None:
                self._drip(f"HTTP/1.1 {status} OK\r\nX-Padding: {'.' * 300}".encode())
                return
            self.send_response(status)
            for name, value in receiver.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _drip(self, answer: bytes) -> None:
            for byte in answer:  # until the sender hangs up, or minutes have passed
                if receiver._stopping.wait(receiver.drip):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    return Handler


@contextlib.contextmanager
def stalled_address(host: str) -> Iterator[int]:
    """A port on `host` where connecting hangs, as at an address that drops packets: its
    listener never accepts and its accept queue is full, so the kernel drops every new
    SYN. Yields the port."""
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(8):  # connect until a connection hangs: the queue is full then
            filler = stack.enter_context(socket.socket())
            filler.settimeout(1.0)
            try:
                filler.connect((host, port))
            except TimeoutError:
                break
        else:
            raise RuntimeError(f"connections to {host}:{port} do not stall")
        yield port


@contextlib.contextmanager
def silent_name_server(host: str) -> Iterator[None]:
    """A name server on `host` (port 53) that receives every query and answers none: a
    resolver pointed at it waits its whole timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((host, 53))
        yield


def webhook_of(stack, key, task_id) -> dict | None:
    status = requests.get(
        f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
    ).json()
    return status.get("webhook")


def wait_for_webhook(stack, key, task_id, state, timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        webhook = webhook_of(stack, key, task_id)
        if webhook and webhook["state"] == state:
            return webhook
        time.sleep(0.2)
    raise TimeoutError(f"the webhook of {task_id} is {webhook}, not {state}")
