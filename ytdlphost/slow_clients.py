"""Slow clients cost a coroutine and a socket, never a thread, and not for long.

A thread of the pool (WEB_THREADS, ytdlphost/fast_path.py) runs every fast route, every
long poll's check and every Django view of its process: a client that could hold one
could stop the API with a handful of connections. a2wsgi's WSGIMiddleware, which ran Django
here before, let it: its thread waits for the event loop to receive each piece of the
request body (a client that stalls its body holds it), and for the event loop to send each
piece of the answer through a queue of ten (a client that stops reading a large file
holds it).

- `DjangoOnThreads` runs Django's WSGI application the other way round: the event loop
  reads the whole body first (up to the body limit, within SLOW_CLIENT_TIMEOUT), then a
  thread runs the view; a streamed answer (a file, a range of it, a playlist's ZIP) is
  pulled from Django's iterator one chunk at a time on the pool, and each chunk is sent by
  the event loop. A thread waits for the disk, never for a client.
- `SlowClientProtocol` is uvicorn's httptools protocol with the deadlines uvicorn lacks: a
  request's headers must be complete within SLOW_CLIENT_TIMEOUT of their first byte (or
  of the connection), and a client that lets the answer pile up unread for as long
  (writing paused by flow control) is cut off.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import socket
import struct
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# What SlowClientProtocol relies on in uvicorn's protocol beyond asyncio's Protocol
# interface: a system check (ytdlphost/checks.py) fails loudly when an upgrade stops
# defining one. (a2wsgi's build_environ, if it went, would fail the import itself.)
REQUIRED_INTERNALS = (
    (HttpToolsProtocol, "on_message_begin"),  # httptools' parser callbacks
    (HttpToolsProtocol, "on_headers_complete"),
    (HttpToolsProtocol, "pause_writing"),  # uvicorn's flow control, which send() awaits
    (HttpToolsProtocol, "resume_writing"),
)

# What the pool thread gathers of an answer after the view returns, before the event loop
# takes over: a whole in-memory answer in one go; one CHUNK_SIZE read of a file.
READ_AHEAD_BYTES = 256 * 1024


class DjangoOnThreads:
    """A WSGI application as an ASGI one, its work on a pool of `workers` threads."""

    def __init__(self, wsgi_application, workers: int):
        self.wsgi_application = wsgi_application
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="django")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # WSGI has no websockets
            await send({"type": "websocket.close", "code": 1000})
            return
        try:
            async with asyncio.timeout(settings.SLOW_CLIENT_TIMEOUT):
                body = await read_body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        except TimeoutError:
            return await send_body_timeout(send)
        loop = asyncio.get_running_loop()
        environ = build_environ(scope, io.BytesIO(body))
        context = contextvars.copy_context()  # as a2wsgi did: the request's context vars
        answer = await loop.run_in_executor(self.executor, context.run, self.start, environ)
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": answer.headers})  # fmt: skip
        if answer.first_chunks:
            await send({"type": "http.response.body", "body": answer.first_chunks,
                        "more_body": True})  # fmt: skip
        if answer.rest is not None:
            await self.stream(answer.rest, answer.close, receive, send)
        await send({"type": "http.response.body", "body": b""})

    def start(self, environ) -> StartedAnswer:
        """On a pool thread: the view's answer, with up to READ_AHEAD_BYTES of its body."""
        answer = StartedAnswer()
        iterable = self.wsgi_application(environ, answer.start_response)
        answer.close = getattr(iterable, "close", lambda: None)
        chunks = iter(iterable)
        gathered = [answer.first_chunks]  # what write() was given, if anything
        size = 0
        try:
            for chunk in chunks:
                gathered.append(chunk)
                size += len(chunk)
                if size >= READ_AHEAD_BYTES:
                    answer.rest = chunks
                    break
        finally:
            if answer.rest is None:
                answer.close()  # Django's request_finished, on the thread that ran the view
        answer.first_chunks = b"".join(gathered)
        return answer

    async def stream(self, chunks: Iterator[bytes], close, receive, send) -> None:
        loop = asyncio.get_running_loop()
        disconnected = loop.create_task(wait_for_disconnect(receive))
        try:
            while not disconnected.done():
                chunk = await loop.run_in_executor(self.executor, next, chunks, None)
                if chunk is None:
                    break
                # Waits while the client is slow to read; SlowClientProtocol cuts it off
                # when it stops (the send then returns and `disconnected` is done).
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            disconnected.cancel()
            await loop.run_in_executor(self.executor, close)


class StartedAnswer:
    """What start_response and the first reads of the WSGI iterable gave."""

    def __init__(self):
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.first_chunks = b""
        self.rest: Iterator[bytes] | None = None  # what is still to read, if anything
        self.close = lambda: None

    def start_response(self, status: str, headers: Iterable[tuple[str, str]], exc_info=None):
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.strip().encode("latin-1").lower(), value.strip().encode("latin-1"))
                        for name, value in headers]  # fmt: skip
        return self.write

    def write(self, data: bytes) -> None:  # PEP 3333's legacy write(); Django never calls it
        self.first_chunks += data


async def read_body(receive, limit: int) -> bytes:
    """The request's body, up to `limit` + 1 bytes: that much tells the parsers it is too
    large (ytdlphost/parsers.py reads limit + 1; Django refuses a Content-Length over the
    limit without reading), so the rest is never read."""
    body = bytearray()
    while len(body) <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return bytes(body)


async def wait_for_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def send_body_timeout(send) -> None:
    body = json.dumps({
        "error": f"Request body not received within {settings.SLOW_CLIENT_TIMEOUT:g} seconds"
    }).encode()  # fmt: skip
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body may never come
    ]
    await send({"type": "http.response.start", "status": 408, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus two deadlines of SLOW_CLIENT_TIMEOUT seconds:
    for a request's headers, and for an answer left unread. Past either the connection is
    aborted: closing it would wait to send what the client does not read.

    Relies on asyncio's Protocol methods (connection_made, connection_lost,
    pause_writing, resume_writing) and on httptools' parser callbacks (on_message_begin,
    on_headers_complete), which uvicorn's protocol implements."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.headers_deadline: asyncio.TimerHandle | None = None
        self.reading_deadline: asyncio.TimerHandle | None = None
        self.headers_deadline = self.abort_later()  # a connection that sends nothing

    def on_message_begin(self) -> None:
        super().on_message_begin()
        cancel(self.headers_deadline)
        self.headers_deadline = self.abort_later()

    def on_headers_complete(self) -> None:
        cancel(self.headers_deadline)
        self.headers_deadline = None
        super().on_headers_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        cancel(self.reading_deadline)
        self.reading_deadline = self.abort_later()

    def resume_writing(self) -> None:
        super().resume_writing()
        cancel(self.reading_deadline)
        self.reading_deadline = None

    def connection_lost(self, exc) -> None:
        cancel(self.headers_deadline)
        cancel(self.reading_deadline)
        super().connection_lost(exc)

    def abort_later(self) -> asyncio.TimerHandle:
        return self.loop.call_later(settings.SLOW_CLIENT_TIMEOUT, self.drop)

    def drop(self) -> None:
        # A reset, not a close: a closed socket keeps what is unsent in the kernel and
        # goes on offering it to a client that reads nothing; linger 0 discards it.
        connection = self.transport.get_extra_info("socket")
        if connection is not None:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


def missing_internals() -> list[str]:
    """The names in REQUIRED_INTERNALS that this uvicorn's class does not define itself
    (asyncio.Protocol's do-nothing pause_writing would not count)."""
    return [f"{owner.__module__}.{owner.__name__}.{name}"
            for owner, name in REQUIRED_INTERNALS if name not in vars(owner)]  # fmt: skip


def cancel(deadline: asyncio.TimerHandle | None) -> None:
    if deadline is not None:
        deadline.cancel()
