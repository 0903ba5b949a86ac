"""Cancelling running tasks on the real stack (gunicorn + qcluster), live recordings from
the 127.0.0.1 media server: the worker's supervision must notice the cancel and end the
task's ffmpeg, or stop it gracefully and keep what it recorded (issue 11)."""

import threading
import time

import pytest
import requests
from yt_dlp_host_api import api
from yt_dlp_host_api.exceptions import APIError

from tests.support.media_files import duration
from tests.support.processes import task_processes, wait_until
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

REQUESTED = 60  # seconds of live recording asked for; every test stops it well before


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("lifecycle")) as stack:
        yield stack


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("recorder", ["get_live_video", "get_live_audio"])


def recording(stack, key, live_url, endpoint="/get_live_video"):
    """A live task whose ffmpeg is running and has written something."""
    return stack.start_recording(key, live_url, REQUESTED, endpoint)


def cancel(stack, key, task_id, **body):
    return requests.post(
        f"{stack.base_url}/cancel/{task_id}", json=body, headers={"X-API-Key": key}, timeout=10
    )


def status_of(stack, key, task_id):
    return requests.get(
        f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
    ).json()


def test_a_cancelled_recording_stops_within_5_seconds_and_leaves_nothing(stack, key, live_url):
    task_id = recording(stack, key, live_url)
    started = time.monotonic()
    response = cancel(stack, key, task_id)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["error"]) == ("error", "Cancelled")
    wait_until(lambda: not task_processes(task_id), 5, "the task's processes outlived 5 s")
    wait_until(lambda: not stack.task_files(task_id), 5 - (time.monotonic() - started), "files")
    print(f"cancel stopped the task in {time.monotonic() - started:.2f} s")
    status = status_of(stack, key, task_id)
    assert (status["status"], status["error"], status["cancelled"]) == ("error", "Cancelled", True)
    assert stack.task_row(task_id)["attempts"] == 1
    time.sleep(1)  # the worker's late result, if any, must not overwrite the cancel
    assert status_of(stack, key, task_id)["status"] == "error"
    assert cancel(stack, key, task_id).status_code == 409


def test_keep_completes_a_recording_with_what_it_has(stack, key, live_url):
    task_id = recording(stack, key, live_url)
    time.sleep(3)  # a few seconds of recording
    response = cancel(stack, key, task_id, keep=True)
    assert response.status_code == 200 and response.json()["status"] == "processing"
    asked = time.monotonic()
    status = stack.wait_for(task_id, key, timeout=30)
    assert status["status"] == "completed", status
    assert status["cancelled"] is False
    assert time.monotonic() - asked < 15  # not the 60 s requested
    path = stack.data_dir / "downloads" / task_id / status["file"].rsplit("/", 1)[1]
    assert 1 < duration(path) < REQUESTED
    assert not task_processes(task_id)
    assert [p.name for p in stack.task_files(task_id)] == [path.name]  # no partial file


def test_the_published_client_ends_its_wait_with_cancelled(stack, key, live_url):
    client = api(stack.base_url).get_client(key)
    raised = []

    def record():  # the client submits, then polls /status until the task ends
        try:
            client.get_live_audio(live_url, duration=REQUESTED)
        except APIError as exc:
            raised.append(exc)

    waiter = threading.Thread(target=record)
    waiter.start()
    listed = wait_until(
        lambda: requests.get(
            f"{stack.base_url}/tasks?status=processing&task_type=get_live_audio",
            headers={"X-API-Key": key},
            timeout=10,
        ).json()["tasks"],
        30,
        "the client's task never started",
    )
    assert cancel(stack, key, listed[0]["task_id"]).status_code == 200
    waiter.join(timeout=10)
    assert not waiter.is_alive() and raised
    assert "Cancelled" in str(raised[0])


def test_deleting_a_running_recording_stops_it_and_frees_its_files(stack, key, live_url):
    task_id = recording(stack, key, live_url)
    response = requests.delete(
        f"{stack.base_url}/delete_task/{task_id}", headers={"X-API-Key": key}, timeout=10
    )
    assert response.status_code == 200
    wait_until(lambda: not task_processes(task_id), 5, "the task's processes outlived 5 s")
    time.sleep(1)  # what the killed download may have written is removed by its worker
    assert not (stack.data_dir / "downloads" / task_id).exists()
    assert (
        requests.get(
            f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
        ).status_code
        == 404
    )
