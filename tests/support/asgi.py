"""Calling the ASGI application in the test's process, as gunicorn's uvicorn worker
calls it: one HTTP request, its whole answer kept. `asgi_request` and `asgi_exchange` run
it to its end in an event loop of their own; `asgi_get`, in the test's own loop, is for
what only that loop shows (long polls parked, woken, refused), with `eventually` to wait
for a condition there."""

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from asgiref.testing import ApplicationCommunicator

from ytdlphost.fast_path import whole_answer

# A test's patience with a condition it waits for, not a measure: generous.
PATIENCE_SECONDS = 30.0


@dataclass
class ASGIAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    # As sent, in order, repeated names repeated (`headers` keeps the last of each).
    header_list: list[tuple[bytes, bytes]] = field(default_factory=list)


def asgi_request(
    application, method: str, target: str, headers=(), body: bytes = b"", query_string=None
):
    """`method target` with `headers` (name, value) pairs, sent as given: repeated names
    stay repeated, as a server passes them on. A body gets its Content-Length.
    `query_string`: raw bytes instead of the target's query."""
    if body:
        headers = [*headers, ("Content-Length", str(len(body)))]
    scope = http_scope(method, target, headers, query_string)
    return asyncio.run(_exchange(application, scope, body))


def http_scope(method: str, target: str, headers=(), query_string=None, scheme="http") -> dict:
    """The scope a server gives the application for this request (asgi_request's)."""
    url = urlsplit(target)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": unquote(url.path),  # decoded, as servers do (the ASGI spec)
        "raw_path": url.path.encode(),
        "query_string": url.query.encode() if query_string is None else query_string,
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 5000),
    }


def asgi_exchange(application, scope, body: bytes = b"") -> ASGIAnswer:
    """The application's whole answer to the request of `scope`."""
    return asyncio.run(_exchange(application, scope, body))


async def _exchange(application, scope, body: bytes) -> ASGIAnswer:
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=30)
    chunks = []
    while True:
        message = await communicator.receive_output(timeout=30)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=30)
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return ASGIAnswer(start["status"], headers, b"".join(chunks), list(start["headers"]))


async def asgi_get(application, target: str, headers: dict[str, str]) -> ASGIAnswer:
    """`GET target` (with its query) from a client that stays connected until answered."""
    scope = http_scope("GET", target, [("Host", "127.0.0.1"), *headers.items()])
    answer = await whole_answer(application, scope)
    named = {name.decode().lower(): value.decode() for name, value in answer.headers}
    return ASGIAnswer(answer.status, named, answer.body, answer.headers)


async def eventually(condition, what: str) -> None:
    """Wait, without blocking the loop, until `condition()` holds."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)
