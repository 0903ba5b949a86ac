"""/healthz, /metrics and the logs."""

import json
import logging
import time

import pytest
import requests

from tests.support.stack import LiveStack
from ytdlphost.logging import JSONFormatter


@pytest.mark.django_db
def test_healthz_names_the_part_that_failed(client):
    # No worker cluster runs in the test process.
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"] and checks["disk"]["ok"]
    assert checks["workers"] == {
        "ok": False, "error": "no worker cluster is running (manage.py qcluster)"
    }  # fmt: skip


@pytest.mark.django_db
def test_healthz_can_leave_the_workers_out(client):
    response = client.get("/healthz?skip=workers")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "workers" not in response.json()["checks"]


@pytest.mark.django_db
def test_healthz_reports_a_full_disk(client, settings):
    settings.MIN_FREE_DISK = 1024**5
    response = client.get("/healthz?skip=workers")
    assert response.status_code == 503
    assert "MIN_FREE_DISK" in response.json()["checks"]["disk"]["error"]


@pytest.mark.django_db
def test_metrics_are_off_unless_enabled(client):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_json_log_lines_carry_the_extra_fields():
    record = logging.LogRecord(
        "ytdlphost.tasks", logging.INFO, "", 0, "task %s done", ("t1",), None
    )
    record.task_id = "t1"
    record.duration = 1.5
    line = json.loads(JSONFormatter().format(record))
    assert line["message"] == "task t1 done"
    assert line["task_id"] == "t1" and line["duration"] == 1.5
    assert line["level"] == "INFO" and line["logger"] == "ytdlphost.tasks"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"METRICS_ENABLED": "true", "LOG_JSON": "true", "LOG_LEVEL": "INFO"}
    with LiveStack(tmp_path_factory.mktemp("ops"), env=env) as running:
        yield running


@pytest.mark.e2e
def test_healthz_is_ok_with_a_running_cluster(stack):
    deadline = time.monotonic() + 30
    while True:
        response = requests.get(f"{stack.base_url}/healthz", timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["workers"]["clusters"] == 1


@pytest.mark.e2e
def test_metrics_count_requests_and_tasks_of_every_process(stack, progressive_url):
    task_id = stack.submit(stack.admin_key, "/get_info", {"url": progressive_url})
    assert stack.wait_for(task_id, stack.admin_key)["status"] == "completed"
    text = requests.get(f"{stack.base_url}/metrics", timeout=10).text
    assert 'ytdlphost_http_requests_total{method="POST",route="get_info",status="200"}' in text
    assert 'ytdlphost_tasks_finished_total{status="completed",task_type="get_info"} 1.0' in text
    assert 'ytdlphost_tasks{status="completed",task_type="get_info"} 1' in text
    assert "ytdlphost_queue_depth 0" in text
    assert "ytdlphost_task_duration_seconds_bucket" in text
    assert task_id not in text  # routes, not paths, are labels


@pytest.mark.e2e
def test_each_task_transition_is_one_json_log_line_without_secrets(stack, progressive_url):
    task_id = stack.submit(stack.admin_key, "/get_audio", {"url": progressive_url})
    stack.wait_for(task_id, stack.admin_key)
    time.sleep(0.5)
    lines = [json.loads(line) for line in stack.log_path.read_text().splitlines()
             if line.startswith("{")]  # fmt: skip
    mine = [line for line in lines if line.get("task_id") == task_id]
    assert [line["message"].split(":")[0].split()[-1] for line in mine] == [
        "created", "processing", "completed",
    ]  # fmt: skip
    assert all(line["key_name"] == "admin" and line["task_type"] == "get_audio" for line in mine)
    assert mine[-1]["duration"] > 0
    assert stack.admin_key not in stack.log_path.read_text()
