"""Calling the ASGI application in the test's process, as gunicorn's uvicorn worker
calls it: one HTTP request, its whole answer kept."""

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from asgiref.testing import ApplicationCommunicator


@dataclass
class ASGIAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def asgi_request(
    application, method: str, target: str, headers=(), body: bytes = b"", query_string=None
):
    """`method target` with `headers` (name, value) pairs, sent as given: repeated names
    stay repeated, as a server passes them on. A body gets its Content-Length.
    `query_string`: raw bytes instead of the target's query."""
    url = urlsplit(target)
    if body:
        headers = [*headers, ("Content-Length", str(len(body)))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode() if query_string is None else query_string,
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 5000),
    }
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
    return ASGIAnswer(start["status"], headers, b"".join(chunks))
