"""Attacks on the workers' time, on the real stack (gunicorn + qcluster): a format
selector whose regular expression backtracks for minutes, one key flooding every worker
with slow downloads, and a task committed by a web process that died before queueing it.

One stack for the module: a default installation facing the hostile world
(tests/support/hostile.py), with two workers, so MAX_TASKS_PER_KEY defaults to 1.
"""

import sqlite3
import time

import pytest
import requests

from tests.support.hostile import Reply, attack_env
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

DOWNLOADS = ["get_video", "get_info"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = attack_env(MAX_WORKERS="2")
    with LiveStack(tmp_path_factory.mktemp("fairness"), env=env) as running:
        yield running


def submit(stack, key, endpoint, body):
    return requests.post(
        f"{stack.base_url}{endpoint}", json=body, headers={"X-API-Key": key}, timeout=30
    )


def status_of(stack, key, task_id):
    return requests.get(
        f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
    ).json()["status"]


def task_count(stack, key_name):
    with sqlite3.connect(stack.data_dir / "db.sqlite3") as db:
        return db.execute(
            "SELECT count(*) FROM downloads_app_task JOIN keys_app_apikey"
            " ON keys_app_apikey.id = downloads_app_task.api_key_id"
            " WHERE keys_app_apikey.name = ?",
            [key_name],
        ).fetchone()[0]


def test_a_regular_expression_format_filter_is_refused_and_creates_no_task(stack, hostile):
    key = stack.create_key("backtracker", DOWNLOADS)
    page = hostile.route("/video", Reply("<html></html>"))
    response = submit(
        stack, key, "/get_video", {"url": page, "video_format": "bestvideo[url~='(a+)+!']"}
    )
    assert response.status_code == 400
    assert "video_format" in response.json()["error"]
    assert "regular-expression" in response.json()["error"]
    assert task_count(stack, "backtracker") == 0
    assert hostile.count("/video") == 0  # nothing was queued, so nothing was fetched


def test_one_key_cannot_hold_every_worker(stack, allowed_media):
    greedy = stack.create_key("greedy", DOWNLOADS)
    patient = stack.create_key("patient", DOWNLOADS)
    # 0.9 MB at 200 kB/s: each of the greedy key's downloads holds a worker ~4.5 s.
    slow = allowed_media.url("progressive.mp4?rate=200000")
    greedy_ids = []
    for _ in range(3):
        response = submit(stack, greedy, "/get_video", {"url": slow})
        assert response.status_code == 200, response.text
        greedy_ids.append(response.json()["task_id"])
    response = submit(stack, patient, "/get_info", {"url": allowed_media.url("progressive.mp4")})
    assert response.status_code == 200, response.text
    patient_id = response.json()["task_id"]

    most_running, greedy_done_when_patient_done = 0, None
    deadline = time.monotonic() + 90
    while True:
        greedy_statuses = [status_of(stack, greedy, task_id) for task_id in greedy_ids]
        most_running = max(most_running, greedy_statuses.count("processing"))
        patient_finished = status_of(stack, patient, patient_id) in ("completed", "error")
        if patient_finished and greedy_done_when_patient_done is None:
            greedy_done_when_patient_done = greedy_statuses.count("completed")
        if all(status in ("completed", "error") for status in greedy_statuses):
            break
        assert time.monotonic() < deadline, f"the greedy key's tasks hang: {greedy_statuses}"
        time.sleep(0.1)

    assert most_running == 1  # MAX_TASKS_PER_KEY: half of MAX_WORKERS=2
    assert stack.wait_for(patient_id, patient, timeout=10)["status"] == "completed"
    # The other key did not wait for the greedy key to free both workers.
    assert greedy_done_when_patient_done is not None
    assert greedy_done_when_patient_done <= 1
    # Each deferred task started when the one before it ended, not at a 10-minute requeue.
    assert greedy_statuses == ["completed"] * 3


CREATE_UNQUEUED_TASK = """
from downloads_app.models import Task
from keys_app.models import APIKey

task = Task.objects.create(api_key=APIKey.objects.get(name="orphaned"), task_type="get_info",
                           url={url!r})
print(task.id)
"""

AGE_TASK_THEN_RUN_MAINTENANCE = """
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from downloads_app.models import Task

Task.objects.filter(pk={task_id!r}).update(created_at=timezone.now() - timedelta(seconds=45))
call_command("run_maintenance")  # what the every-minute schedule runs
"""


def test_a_task_committed_but_never_queued_runs_after_the_next_maintenance(stack, allowed_media):
    key = stack.create_key("orphaned", DOWNLOADS)
    # What a web process killed between its commit and its on_commit hook leaves: a
    # waiting row with no queue message and no queued_at. Just created, it is too young
    # for maintenance to take it for lost (NEVER_QUEUED_AFTER), so the every-minute
    # schedule cannot run it before it is checked.
    url = allowed_media.url("progressive.mp4")
    created = stack.manage("shell", "-c", CREATE_UNQUEUED_TASK.format(url=url))
    task_id = created.split()[-1]
    time.sleep(1)
    assert status_of(stack, key, task_id) == "waiting"  # no worker knows of it
    # 45 s old: lost. Maintenance queues it, whether this run or the every-minute
    # schedule's comes first.
    stack.manage("shell", "-c", AGE_TASK_THEN_RUN_MAINTENANCE.format(task_id=task_id))
    assert stack.wait_for(task_id, key)["status"] == "completed"
