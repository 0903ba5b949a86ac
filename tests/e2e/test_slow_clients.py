"""Slow and stalled clients against the real stack (issue 20): connections that never read
a large file, POSTs that send their headers and stall their body, and requests whose
headers never end hold no thread, so every other route keeps answering; and each of them
is dropped after SLOW_CLIENT_TIMEOUT.

One web process with 2 threads: a handful of hostile connections (well above 2) would
take every thread if any of them held one."""

import os
import socket

import pytest
import requests

from tests.support import slow_clients
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


def connect(stack, first_bytes: bytes) -> socket.socket:
    connection = slow_clients.small_window_socket()
    connection.connect(("127.0.0.1", stack.port))
    connection.sendall(first_bytes)
    return connection


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
            request = slow_clients.non_reader_request(file_path)
            hostile["non-readers"].append(connect(stack, request))
            hostile["stalled bodies"].append(connect(stack, slow_clients.STALLED_BODY))
            hostile["unfinished headers"].append(connect(stack, slow_clients.UNFINISHED_HEADERS))

        every_route_answers(stack, key, task_id)

        # Each kind is dropped once it has been slow for SLOW_CLIENT_TIMEOUT: the server
        # closes (a stalled body hears 408 first).
        def still_open():
            return {kind: sum(not slow_clients.closed_by_server(c) for c in connections)
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
    connection = connect(stack, slow_clients.STALLED_BODY)
    try:
        connection.settimeout(30)
        answer = connection.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
    finally:
        connection.close()


def test_a_large_file_read_steadily_arrives_whole(stack, large_file):
    """The deadline drops a client that stops reading, not one that reads."""
    _, _, file_path = large_file
    with requests.get(f"{stack.base_url}{file_path}", stream=True, timeout=PATIENCE) as answer:
        assert answer.status_code == 200
        received = sum(len(chunk) for chunk in answer.iter_content(1024 * 1024))
    assert received == LARGE_FILE_BYTES


def test_an_oversized_body_is_still_refused_with_413(stack):
    """The event loop reads a body up to the limit and one byte more: Django still refuses
    it from its Content-Length, as it always did (the same answer as before this change)."""
    key = stack.create_key("oversized-body", ["get_video"])
    body = '{"url": "http://example.com/", "pad": "' + "a" * 100_000 + '"}'
    answer = requests.post(
        f"{stack.base_url}/get_video", data=body, timeout=PATIENCE,
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status_code == 413
    assert answer.json() == {"error": "Request body too large"}
