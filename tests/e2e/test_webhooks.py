"""Webhooks on the real stack: gunicorn and qcluster as subprocesses, real tasks against
media on 127.0.0.1, receivers on loopback that verify with the standardwebhooks package."""

import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from tests.support.stack import REPO, LiveStack, free_port
from tests.support.webhooks import (
    Receiver,
    silent_name_server,
    stalled_address,
    wait_for_webhook,
    webhook_of,
)

pytestmark = pytest.mark.e2e

# Retries a fraction of a second apart, attempts cut off after 3 s, 3 attempts in all.
FAST = {"WEBHOOK_BACKOFF_SECONDS": "0.3", "WEBHOOK_TIMEOUT": "3", "WEBHOOK_MAX_ATTEMPTS": "3"}
# The workers' /etc: a receiver's name with two addresses, tried in this order (one that
# drops packets, then one where the test's receiver listens), and a name server on loopback
# for every other name (a test makes it one that never answers).
TWO_ADDRESS_HOST = "two-addresses.test"
STALLED_ADDRESS, SECOND_ADDRESS = "127.0.0.3", "127.0.0.4"
NAME_SERVER = "127.0.0.5"
ETC = {
    "hosts": (
        "127.0.0.1 localhost\n"
        f"{STALLED_ADDRESS} {TWO_ADDRESS_HOST}\n{SECOND_ADDRESS} {TWO_ADDRESS_HOST}\n"
    ),
    "resolv.conf": f"nameserver {NAME_SERVER}\noptions timeout:10 attempts:1\n",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("webhooks"), env=FAST, etc=ETC) as running:
        yield running


def create_key(stack, name, **extra) -> tuple[str, str]:
    """The new key's secret and its webhook signing secret."""
    response = requests.post(
        f"{stack.base_url}/create_key",
        json={"name": name, "permissions": ["get_video", "get_info"], **extra},
        headers={"X-API-Key": stack.admin_key},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["key"], response.json()["webhook_secret"]


def test_a_receiver_verifies_the_signature_of_a_completed_task(stack, progressive_url):
    key, webhook_secret = create_key(stack, "signed")
    with Receiver() as receiver:
        status = stack.run(key, "/get_info", {"url": progressive_url, "webhook_url": receiver.url})
        [request] = receiver.wait_for(1)
        event = request.verified(webhook_secret)
    assert event["type"] == "task.completed"
    assert event["data"]["task_id"] == status["task_id"]
    assert event["data"]["status"] == "completed"
    assert event["data"]["file"] == status["file"]
    assert wait_for_webhook(stack, key, status["task_id"], "delivered")["attempts"] == 1


def test_a_receiver_answering_500_twice_gets_three_attempts_with_one_webhook_id(
    stack, progressive_url
):
    key, webhook_secret = create_key(stack, "flaky")
    with Receiver(statuses=[500, 500, 200]) as receiver:
        task_id = stack.submit(
            key, "/get_info", {"url": progressive_url, "webhook_url": receiver.url}
        )
        assert wait_for_webhook(stack, key, task_id, "delivered")["attempts"] == 3
        requests_received = receiver.wait_for(3)
    assert len(requests_received) == 3
    assert len({r.headers["webhook-id"] for r in requests_received}) == 1
    for request in requests_received:  # each attempt signed anew, each verifies
        assert request.verified(webhook_secret)["data"]["task_id"] == task_id


def test_a_receiver_that_never_answers_ends_failed_while_downloads_run_at_normal_speed(
    stack, progressive_url
):
    key, _ = create_key(stack, "unheard")
    with Receiver(silent=True) as dead:
        hooked = stack.run(key, "/get_video", {"url": progressive_url, "webhook_url": dead.url})
        dead.wait_for(1)
        started = time.monotonic()
        other = stack.run(key, "/get_video", {"url": progressive_url})
        elapsed = time.monotonic() - started
        # The next download did not wait for the receiver: its deliveries still go on.
        assert other["status"] == "completed"
        assert webhook_of(stack, key, hooked["task_id"])["state"] == "pending"
        assert elapsed < 3 * 3  # WEBHOOK_MAX_ATTEMPTS x WEBHOOK_TIMEOUT
        webhook = wait_for_webhook(stack, key, hooked["task_id"], "failed")
    assert webhook["attempts"] == 3
    assert len(dead.received) == 3


def attempts_of(stack, task_id) -> list[sqlite3.Row]:
    with sqlite3.connect(stack.data_dir / "db.sqlite3") as db:
        db.row_factory = sqlite3.Row
        query = (
            "SELECT a.* FROM downloads_app_webhookattempt a JOIN downloads_app_webhookdelivery d"
            " ON d.id = a.delivery_id WHERE d.task_id = ? ORDER BY a.number"
        )
        return db.execute(query, [task_id]).fetchall()


def first_attempt(stack, task_id) -> sqlite3.Row:
    """The delivery's first recorded attempt, once it has ended."""
    deadline = time.monotonic() + 3 + 20  # WEBHOOK_TIMEOUT and a generous margin
    while not attempts_of(stack, task_id):
        assert time.monotonic() < deadline, "the first attempt is still running"
        time.sleep(0.2)
    return attempts_of(stack, task_id)[0]


def assert_cut_off_at_the_timeout(attempt: sqlite3.Row) -> None:
    assert "WEBHOOK_TIMEOUT" in attempt["error"]
    assert attempt["duration"] < 3 + 5  # WEBHOOK_TIMEOUT (3 s), not the 10 s or more


def test_an_attempt_ends_within_the_timeout_when_one_address_stalls_and_the_next_drips(
    stack, progressive_url
):
    # What held a worker 216 s: the first address of the receiver's name drops packets,
    # the second answers one byte a second. WEBHOOK_TIMEOUT (3 s) bounds the whole attempt.
    key, _ = create_key(stack, "dripped")
    with (
        stalled_address(STALLED_ADDRESS) as port,
        Receiver(host=SECOND_ADDRESS, port=port, drip=1.0),
    ):
        url = f"http://{TWO_ADDRESS_HOST}:{port}/hook"
        task_id = stack.submit(key, "/get_info", {"url": progressive_url, "webhook_url": url})
        stack.wait_for(task_id, key)
        first = first_attempt(stack, task_id)
    assert_cut_off_at_the_timeout(first)


def test_an_attempt_ends_within_the_timeout_while_the_receivers_name_server_is_silent(
    stack, progressive_url
):
    key, _ = create_key(stack, "unresolved")
    with silent_name_server(NAME_SERVER):  # the resolver waits 10 s for it
        url = "http://never-resolved.test/hook"
        task_id = stack.submit(key, "/get_info", {"url": progressive_url, "webhook_url": url})
        stack.wait_for(task_id, key)
        first = first_attempt(stack, task_id)
    assert_cut_off_at_the_timeout(first)


def test_one_keys_hanging_receiver_does_not_delay_another_keys_download(tmp_path, progressive_url):
    # Two workers, so MAX_TASKS_PER_KEY is 1: a key's tasks and deliveries share one. An
    # attempt of 8 s leaves the other key's download a window of about two attempts
    # before the hanging key's next delivery could start, even on a loaded machine.
    env = {**FAST, "WEBHOOK_TIMEOUT": "8", "MAX_WORKERS": "2"}
    with LiveStack(tmp_path / "stack", env=env) as stack:
        hanging_key, _ = create_key(stack, "hanging-receiver")
        other_key, _ = create_key(stack, "other")
        failing_url = progressive_url.replace("progressive.mp4", "missing.mp4")
        with Receiver(silent=True) as hanging:
            for _ in range(12):  # each fails at once; its delivery hangs 3 attempts x 8 s
                body = {"url": failing_url, "webhook_url": hanging.url}
                stack.submit(hanging_key, "/get_info", body)
            hanging.wait_for(2)  # two attempts under way: every worker, were they not capped
            started = time.monotonic()
            other = stack.run(other_key, "/get_video", {"url": progressive_url})
            elapsed = time.monotonic() - started
            deliveries_heard = {request.headers["webhook-id"] for request in hanging.received}
    assert other["status"] == "completed"
    # The hanging key's deliveries held one worker (its MAX_TASKS_PER_KEY) meanwhile; the
    # other key's download had the other one at once.
    assert len(deliveries_heard) == 1
    assert elapsed < 3 * 8  # WEBHOOK_MAX_ATTEMPTS x WEBHOOK_TIMEOUT: what one delivery holds


def test_a_delivery_whose_attempt_outlives_its_lease_is_not_started_twice(
    tmp_path, progressive_url
):
    # An attempt of 8 s, a lease of STALE_TASK_TIMEOUT (3 s) that the running attempt
    # renews; the maintenance runs again and again meanwhile.
    env = {"WEBHOOK_TIMEOUT": "8", "WEBHOOK_MAX_ATTEMPTS": "1", "STALE_TASK_TIMEOUT": "3"}
    with LiveStack(tmp_path / "stack", env=env) as stack, Receiver(silent=True) as silent:
        key, _ = create_key(stack, "leased")
        task_id = stack.submit(
            key, "/get_info", {"url": progressive_url, "webhook_url": silent.url}
        )
        silent.wait_for(1)
        while webhook_of(stack, key, task_id)["state"] == "pending":
            run_maintenance(stack)  # which queues deliveries whose lease ran out
        assert len(silent.received) == 1
        assert len(attempts_of(stack, task_id)) == 1


def run_maintenance(stack) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "run_maintenance"],
        cwd=REPO, env=stack.env, check=True, capture_output=True,
    )  # fmt: skip


def delivery_row(stack, task_id):
    with sqlite3.connect(stack.data_dir / "db.sqlite3") as db:
        db.row_factory = sqlite3.Row
        query = "SELECT * FROM downloads_app_webhookdelivery WHERE task_id = ?"
        return db.execute(query, [task_id]).fetchone()


def test_a_delivery_pending_across_a_restart_of_web_and_workers_is_delivered(
    tmp_path, progressive_url
):
    port = free_port()  # the receiver's, down until the whole stack has been stopped
    # The stopped worker may have held the delivery's lease (it waits for a near retry
    # itself): the lease lasts STALE_TASK_TIMEOUT, short here, before another may take it.
    env = {"WEBHOOK_BACKOFF_SECONDS": "4", "WEBHOOK_TIMEOUT": "2", "STALE_TASK_TIMEOUT": "6"}
    stack = LiveStack(tmp_path / "stack", env=env)
    with stack:
        key, webhook_secret = create_key(stack, "patient")
        url = f"http://127.0.0.1:{port}/hook"
        task_id = stack.submit(key, "/get_info", {"url": progressive_url, "webhook_url": url})
        stack.wait_for(task_id, key)
        assert wait_for_webhook(stack, key, task_id, "pending") is not None
        deadline = time.monotonic() + 20
        while delivery_row(stack, task_id)["attempts"] < 1:
            assert time.monotonic() < deadline, "the first attempt was never made"
            time.sleep(0.2)
    first = delivery_row(stack, task_id)
    assert (first["state"], first["attempts"]) == ("pending", 1)

    with Receiver(port=port) as receiver, stack:
        # The retry is due 4 s after the first attempt; the every-minute maintenance finds
        # it (run here by hand rather than waited for) once the lease has run out.
        deadline = time.monotonic() + 60
        while not receiver.received:
            assert time.monotonic() < deadline, "the pending delivery was never sent"
            run_maintenance(stack)
            time.sleep(0.5)
        [request] = receiver.wait_for(1)
        assert request.headers["webhook-id"] == first["id"]
        assert request.verified(webhook_secret)["data"]["task_id"] == task_id
        assert wait_for_webhook(stack, key, task_id, "delivered")["attempts"] == 2
