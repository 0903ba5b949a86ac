"""Slow and stalled clients, as an attacker writes them: for tests/e2e/test_slow_clients.py
and bench/slowloris.py.

Each kind sends its bytes and then nothing more, and never reads: a non-reader asks for a
large file, a stalled body promises more of a form POST than it sends (with a csrftoken
cookie, Django's CSRF check reads the body to look for the form's token), unfinished
headers never end.
"""

from __future__ import annotations

import select
import socket

# A small receive window: the server's buffers fill after little of a large file.
RECEIVE_BUFFER = 4096

STALLED_BODY = (
    b"POST /sign_in HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: csrftoken=" + b"a" * 32 +
    b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n"
    b"\r\nkey=012345"
)  # fmt: skip
UNFINISHED_HEADERS = b"GET /status/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def non_reader_request(file_path: str) -> bytes:
    return f"GET {file_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def small_window_socket() -> socket.socket:
    """A TCP socket, not yet connected, that advertises a receive window of a few KB."""
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    return connection


def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server has closed (or reset) the connection, seen without reading it:
    a client that never reads learns it only this way."""
    poller = select.poll()
    closed = select.POLLRDHUP | select.POLLHUP | select.POLLERR
    poller.register(connection, closed)
    return any(events & closed for _, events in poller.poll(0))
