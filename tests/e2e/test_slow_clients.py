"""Slow and stalled clients against the real stack (issue 20): connections that never read
a large file, POSTs that send their headers and stall their body, and requests whose
headers never end hold no thread, so every other route keeps answering; and each of them
is dropped after SLOW_CLIENT_TIMEOUT.

One web process with 2 threads: a handful of hostile connections (well above 2) would
take every thread if any of them held one."""

import os
import select
import socket

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

HOSTILE_OF_EACH_KIND = 8
SLOW_CLIENT_TIMEOUT = 2
# Larger than every socket buffer between the server and a client that never reads, so
# that the server still has most of the file to send when the buffers are full.
LARGE_FILE_BYTES = 64 * 1024 * 1024
# A client's patience with each request: generous (a loaded machine), and far below the
# forever that a request waits when the attackers hold every thread.
PATIENCE = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {
        "WEB_THREADS": "2",
        "SLOW_CLIENT_TIMEOUT": str(SLOW_CLIENT_TIMEOUT),
    }
    with LiveStack(tmp_path_factory.mktemp("slow-clients"), web_workers=1, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def large_file(stack, progressive_url):
    """(key, task id, URL path) of a completed download whose file is LARGE_FILE_BYTES."""
    key = stack.create_key("large-file-owner", ["get_video"])
    status = stack.run(key, "/get_video", {"url": progressive_url})
    assert status["status"] == "completed", status
    (path,) = stack.task_files(status["task_id"])
    os.truncate(path, LARGE_FILE_BYTES)  # sparse: large to send, nothing on disk
    return key, status["task_id"], status["file"]


def connect(stack, receive_buffer=4096) -> socket.socket:
    connection = socket.socket()
    # A small receive window: the server's send buffer fills after little of the file.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.connect(("127.0.0.1", stack.port))
    return connection


def non_reader(stack, file_path: str) -> socket.socket:
    connection = connect(stack)
    connection.sendall(f"GET {file_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return connection


def stalled_body(stack) -> socket.socket:
    """A sign-in form POST that promises 1000 bytes and sends 10: with a csrftoken cookie,
    Django's CSRF check reads the body to look for the form's token."""
    connection = connect(stack)
    connection.sendall(
        b"POST /sign_in HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: csrftoken=" + b"a" * 32 +
        b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n"
        b"\r\nkey=012345"
    )  # fmt: skip
    return connection


def unfinished_headers(stack) -> socket.socket:
    connection = connect(stack)
    connection.sendall(b"GET /status/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return connection


def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server has closed (or reset) the connection, seen without reading it:
    a client that never reads learns it only this way."""
    poller = select.poll()
    poller.register(connection, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    return any(events & (select.POLLRDHUP | select.POLLHUP | select.POLLERR)
               for _, events in poller.poll(0))  # fmt: skip


def every_route_answers(stack, key: str, task_id: str) -> None:
    headers = {"X-API-Key": key}
    status = requests.get(f"{stack.base_url}/status/{task_id}", headers=headers, timeout=PATIENCE)
    assert status.status_code == 200, status.text
    me = requests.get(f"{stack.base_url}/me", headers=headers, timeout=PATIENCE)
    assert me.status_code == 200, me.text
    tasks = requests.get(f"{stack.base_url}/tasks", headers=headers, timeout=PATIENCE)
    assert tasks.status_code == 200, tasks.text
    # A POST goes through Django on a thread, body and all.
    refused = requests.post(
        f"{stack.base_url}/get_video", json={}, headers=headers, timeout=PATIENCE
    )
    assert refused.status_code == 400, refused.text


def test_slow_clients_hold_no_thread_and_are_dropped(stack, large_file):
    key, task_id, file_path = large_file
    hostile = {"non-readers": [], "stalled bodies": [], "unfinished headers": []}
    try:
        for _ in range(HOSTILE_OF_EACH_KIND):
            hostile["non-readers"].append(non_reader(stack, file_path))
            hostile["stalled bodies"].append(stalled_body(stack))
            hostile["unfinished headers"].append(unfinished_headers(stack))

        every_route_answers(stack, key, task_id)

        # Each kind is dropped once it has been slow for SLOW_CLIENT_TIMEOUT: the server
        # closes (a stalled body hears 408 first).
        def still_open():
            return {kind: sum(not closed_by_server(c) for c in connections)
                    for kind, connections in hostile.items()}  # fmt: skip

        try:
            wait_until(lambda: not any(still_open().values()), 30, "slow clients dropped")
        except AssertionError as failure:
            raise AssertionError(f"still open after 30 s: {still_open()}") from failure
        every_route_answers(stack, key, task_id)
    finally:
        for connections in hostile.values():
            for connection in connections:
                connection.close()


def test_a_stalled_body_hears_408(stack):
    connection = stalled_body(stack)
    try:
        connection.settimeout(30)
        answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
    finally:
        connection.close()


def test_a_file_read_slowly_but_steadily_arrives_whole(stack, large_file):
    """The slow-reader deadline drops a client that stops reading, not one that reads."""
    _, _, file_path = large_file
    with requests.get(f"{stack.base_url}{file_path}", stream=True, timeout=PATIENCE) as answer:
        assert answer.status_code == 200
        received = sum(len(chunk) for chunk in answer.iter_content(1024 * 1024))
    assert received == LARGE_FILE_BYTES
