"""Faults on the real stack: a worker killed mid-download, the whole stack restarted, and
load on the default SQLite set-up. gunicorn and qcluster run as subprocesses; a whole
cluster killed is in test_recovery.py."""

import os
import signal
import threading
import time

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

PERMISSIONS = ["get_video", "get_audio", "get_info"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """For the tests that keep the stack up: a worker killed is replaced by its cluster.
    Four workers and no request limit, for the load test."""
    env = {"REQUEST_LIMIT": "100000", "MAX_WORKERS": "4"}
    with LiveStack(tmp_path_factory.mktemp("faults"), env=env) as running:
        yield running


def test_a_task_whose_worker_is_killed_runs_again_at_once_and_completes(
    stack, progressive_url, media_server
):
    key = stack.create_key("victim", PERMISSIONS)
    # 200 kB/s: the 0.9 MB file takes about 5 seconds, the killed attempt's and again
    # its retry's (the kill comes as soon as the first bytes are written).
    slow_url = progressive_url + "?rate=200000&kill=1"
    task_id = stack.submit(key, "/get_video", {"url": slow_url})
    wait_until(lambda: stack.task_files(task_id), 30, "the download never started")
    worker_pid = int(stack.task_row(task_id)["worker"].rsplit(":", 1)[1])
    os.kill(worker_pid, signal.SIGKILL)

    # Its cluster lives on and sees at once that a worker of its own host is gone:
    # no heartbeat timeout to wait for (STALE_TASK_TIMEOUT is 30 s).
    status = stack.wait_for(task_id, key, timeout=60)
    assert status["status"] == "completed", status
    row = stack.task_row(task_id)
    assert row["attempts"] == 2
    assert int(row["worker"].rsplit(":", 1)[1]) != worker_pid
    files = sorted(p.name for p in (stack.data_dir / "downloads" / task_id).iterdir())
    assert files == ["video.mp4"]  # the killed attempt's partial files are gone


def test_the_stack_restarted_keeps_keys_tasks_and_files_and_runs_waiting_tasks(
    tmp_path, progressive_url
):
    data_dir = tmp_path / "stack"
    with LiveStack(data_dir) as stack:
        key = stack.create_key("survivor", PERMISSIONS)
        done = stack.submit(key, "/get_audio", {"url": progressive_url})
        file_url = stack.base_url + stack.wait_for(done, key)["file"]
        before = requests.get(file_url, timeout=10).content
    # The web side alone: tasks are accepted and wait, since no cluster runs.
    with LiveStack(data_dir, clusters=0) as stack:
        waiting = [stack.submit(key, "/get_info", {"url": f"{progressive_url}?w={i}"})
                   for i in range(3)]  # fmt: skip
        time.sleep(1)
        for task_id in waiting:
            assert stack.task_row(task_id)["status"] == "waiting"
    with LiveStack(data_dir) as stack:
        assert requests.get(file_url.replace(file_url.split("/files")[0], stack.base_url),
                            timeout=10).content == before  # fmt: skip
        for task_id in waiting:
            assert stack.wait_for(task_id, key)["status"] == "completed"
        check = requests.post(
            f"{stack.base_url}/check_permissions", json={"permissions": PERMISSIONS},
            headers={"X-API-Key": key}, timeout=10,
        )  # fmt: skip
        assert check.status_code == 200


def test_load_on_sqlite_loses_nothing_and_runs_nothing_twice(stack, progressive_url, media_server):
    tasks_total, creators, pollers = 40, 8, 8
    key = stack.create_key("loader", PERMISSIONS)
    # How many requests one get_info makes to the media server, from a lone run.
    submit_and_wait = stack.wait_for(
        stack.submit(key, "/get_info", {"url": f"{progressive_url}?n=solo"}), key
    )
    assert submit_and_wait["status"] == "completed"
    per_task = media_server.count_query("/progressive.mp4", "n=solo")
    assert per_task >= 1

    task_ids, failures, stop = [], [], threading.Event()
    counter = iter(range(tasks_total))
    lock = threading.Lock()

    def create():
        session = requests.Session()
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            response = session.post(
                f"{stack.base_url}/get_info", json={"url": f"{progressive_url}?n={n}"},
                headers={"X-API-Key": key}, timeout=60,
            )  # fmt: skip
            if response.status_code != 200:
                failures.append((response.status_code, response.text))
            else:
                with lock:
                    task_ids.append(response.json()["task_id"])

    def poll():
        session = requests.Session()
        while not stop.is_set():
            with lock:
                ids = list(task_ids[-5:])
            for task_id in ids:
                response = session.get(
                    f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=60
                )
                if response.status_code != 200:
                    failures.append((response.status_code, response.text))
            time.sleep(0.01)

    threads = [threading.Thread(target=create) for _ in range(creators)]
    threads += [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads[:creators]:
        thread.join()
    statuses = [stack.wait_for(task_id, key, timeout=180)["status"] for task_id in task_ids]
    stop.set()
    for thread in threads[creators:]:
        thread.join()

    assert failures == []
    assert len(task_ids) == tasks_total
    assert set(statuses) == {"completed"}
    executions = [
        media_server.count_query("/progressive.mp4", f"n={n}") for n in range(tasks_total)
    ]
    assert executions == [per_task] * tasks_total  # each task ran exactly once
    log = stack.log_path.read_text()
    assert "database is locked" not in log
