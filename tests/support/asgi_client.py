"""Requests to the ASGI application gunicorn runs (ytdlphost.asgi.application) in the
test's own process and event loop: for what only that loop shows (long polls parked,
woken, refused), without a server in between."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

# A test's patience with a condition it waits for, not a measure: generous.
PATIENCE_SECONDS = 30.0


@dataclass
class AsgiAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


async def asgi_get(application, path: str, headers: dict[str, str]) -> AsgiAnswer:
    """`GET path` (with its query) from a client that stays connected until answered."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"127.0.0.1"),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    messages = []
    request_sent = False

    async def receive():
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # connected until the answer (or the test) ends it

    async def send(message):
        messages.append(message)

    await application(scope, receive, send)
    start, bodies = messages[0], messages[1:]
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return AsgiAnswer(start["status"], headers, b"".join(m.get("body", b"") for m in bodies))


async def eventually(condition, what: str) -> None:
    """Wait, without blocking the loop, until `condition()` holds."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)
