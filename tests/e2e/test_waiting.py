"""Waiting without polling on the real stack (gunicorn's uvicorn workers): `?wait=S` on
/status and /tasks, and idle connections that cannot take the web workers away."""

import socket
import threading

import pytest
import requests

from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

IDLE_CONNECTIONS = 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("waiting")) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("waiter", ["get_info", "get_live_video"])


def get(stack, path, key, **kwargs):
    headers = {"X-API-Key": key, **kwargs.pop("headers", {})}
    return requests.get(f"{stack.base_url}{path}", headers=headers, timeout=90, **kwargs)


def test_status_wait_answers_once_the_task_has_finished(stack, key, live_url):
    task_id = stack.submit(key, "/get_live_video", {"url": live_url, "duration": 3})
    response = get(stack, f"/status/{task_id}?wait=60", key)
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_status_wait_answers_with_the_current_state_when_the_time_is_up(stack, key, live_url):
    task_id = stack.submit(key, "/get_live_video", {"url": live_url, "duration": 60})
    try:
        response = get(stack, f"/status/{task_id}?wait=0.5", key)
        assert response.status_code == 200
        assert response.json()["status"] in ("waiting", "processing")
        assert response.json()["task_id"] == task_id
    finally:
        requests.post(
            f"{stack.base_url}/cancel/{task_id}", json={}, headers={"X-API-Key": key}, timeout=10
        )


@pytest.fixture(scope="module")
def finished_task_id(stack, key, progressive_url):
    return stack.run(key, "/get_info", {"url": progressive_url})["task_id"]


@pytest.mark.parametrize("wait", ["0", "-1", "61", "soon", "nan", "inf", ""])
def test_an_invalid_wait_is_a_400_that_says_why(stack, key, finished_task_id, wait):
    response = get(stack, f"/status/{finished_task_id}?wait={wait}", key)
    assert response.status_code == 400
    assert "wait must be a number of seconds" in response.json()["error"]


def test_a_wait_by_a_wrong_key_or_on_an_unknown_task_is_refused_at_once(stack, key):
    assert get(stack, "/status/no-such-task?wait=60", "wrong-key").status_code == 401
    assert get(stack, "/status/no-such-task?wait=60", key).status_code == 404


def test_a_key_deleted_while_waiting_is_refused(stack, live_url):
    doomed = stack.create_key("doomed-waiter", ["get_live_video"])
    task_id = stack.submit(doomed, "/get_live_video", {"url": live_url, "duration": 60})
    answers = []
    waiter = threading.Thread(
        target=lambda: answers.append(get(stack, f"/status/{task_id}?wait=60", doomed))
    )
    waiter.start()
    deleted = requests.delete(
        f"{stack.base_url}/delete_key/doomed-waiter",
        headers={"X-API-Key": stack.admin_key}, timeout=10,
    )  # fmt: skip
    assert deleted.status_code == 200
    waiter.join(timeout=90)
    # Deleting the key deletes its tasks: the waiter wakes, and its key is gone.
    assert answers and answers[0].status_code == 401


def test_tasks_wait_answers_when_the_list_changes(stack, progressive_url):
    lister = stack.create_key("lister", ["get_info"])
    first = get(stack, "/tasks", lister)
    etag = first.headers["ETag"]
    unchanged = get(stack, "/tasks?wait=0.5", lister, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    answers = []
    waiter = threading.Thread(
        target=lambda: answers.append(
            get(stack, "/tasks?wait=60", lister, headers={"If-None-Match": etag})
        )
    )
    waiter.start()
    task_id = stack.submit(lister, "/get_info", {"url": progressive_url})
    waiter.join(timeout=90)
    assert answers and answers[0].status_code == 200
    assert answers[0].headers["ETag"] != etag
    assert task_id in [task["task_id"] for task in answers[0].json()["tasks"]]


def test_idle_and_slow_connections_do_not_stop_the_api_from_answering(stack, key):
    idle = []
    try:
        for index in range(IDLE_CONNECTIONS):
            connection = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
            if index % 2:  # half send the start of a request and never finish it
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            idle.append(connection)
        health = requests.get(f"{stack.base_url}/healthz?skip=workers", timeout=30)
        assert health.status_code == 200
        status = get(stack, "/status/no-such-task", key)
        assert status.status_code == 404 and status.json() == {"error": "Task not found"}
    finally:
        for connection in idle:
            connection.close()
