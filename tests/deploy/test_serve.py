"""scripts/serve.sh (what ./run.sh ends in) stops on one Ctrl-C: quickly, quietly, and
without losing the download it interrupts.

A terminal's Ctrl-C is SIGINT to the whole foreground process group; the test sends it the
same way, after the server has answered on a kept-alive connection and while a slow
download runs.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.stack import REPO, free_port

pytestmark = pytest.mark.e2e

ADMIN_KEY = "serve-admin-secret-0123456789"
SLOW = "?rate=50000"  # the 0.9 MB clip in about 18 s
# How long the test's client waits for an answer. gunicorn listens before its workers have
# booted (Django and the app imported), so the first requests queue in the listen backlog
# meanwhile: seconds on a loaded machine. Patience, not a measure of speed.
ANSWER_TIMEOUT = 60
# Quickly: a stop takes 1-5 s, even on a loaded machine. The stops this test guards against
# take longer than this bound: gunicorn SIGKILLs a worker deadlocked in its signal handler
# after graceful_timeout (30 s), and django-q2's deadlocked Cluster.stop never ends. A
# download left running instead of interrupted would complete: the task's status below
# tells that, whatever the time.
STOP_TIMEOUT = 25


@pytest.fixture
def env(tmp_path):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ytdlphost.settings",
        "DATA_DIR": str(tmp_path / "data"),
        "BIND": "127.0.0.1",
        "PORT": str(free_port()),
        "ALLOW_PRIVATE_URLS": "true",
        "ADMIN_API_KEY": ADMIN_KEY,
        "MIN_FREE_DISK": "0",
        "LOG_LEVEL": "INFO",
        "YTDLPHOST_ENV_FILE": "",
    }


def manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise TimeoutError


def task_status(env, task_id) -> str:
    with sqlite3.connect(Path(env["DATA_DIR"]) / "db.sqlite3") as db:
        query = "SELECT status FROM downloads_app_task WHERE id = ?"
        return db.execute(query, [task_id]).fetchone()[0]


def processes_of_task(task_id) -> list[int]:
    marker = f"YTDLPHOST_TASK={task_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_servers_left(output: str) -> list[int]:
    """The process groups of the web server and the cluster that serve.sh started and that
    are still alive, killed."""
    pids = re.search(r"web pid (\d+), cluster pid (\d+)", output)
    leftovers = [int(pid) for pid in (pids.groups() if pids else ()) if group_alive(int(pid))]
    for pid in leftovers:
        os.killpg(pid, signal.SIGKILL)
    return leftovers


def test_one_ctrl_c_stops_web_and_workers_quickly_and_quietly(env, tmp_path, progressive_url):
    manage(env, "migrate", "--noinput", "-v0")
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        # SIGINT as a terminal leaves it, whatever this process inherited: started in the
        # background by a shell without job control, everything below ignores SIGINT, and
        # a shell that starts with it ignored can never trap it (so Ctrl-C did nothing).
        serve = subprocess.Popen(
            ["env", "--default-signal=INT", "scripts/serve.sh"], cwd=REPO, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{env['PORT']}"
    session = requests.Session()  # kept alive, and open, until the end
    session.headers["X-API-Key"] = ADMIN_KEY
    try:
        wait_until(lambda: session.get(f"{base}/get_keys", timeout=ANSWER_TIMEOUT).ok)
        for _ in range(3):
            assert session.get(f"{base}/get_keys", timeout=ANSWER_TIMEOUT).ok
        response = session.post(
            f"{base}/get_video", json={"url": progressive_url + SLOW}, timeout=ANSWER_TIMEOUT
        )
        task_id = response.json()["task_id"]
        wait_until(
            lambda: (
                session.get(f"{base}/status/{task_id}", timeout=ANSWER_TIMEOUT)
                .json()
                .get("progress")
            )
        )

        os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C
        status = serve.wait(timeout=STOP_TIMEOUT)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        # Also when the test failed above: the servers run in sessions of their own, which
        # the SIGKILL of serve.sh's group does not reach, and would outlive the test.
        output = log_path.read_text()
        leftovers = kill_servers_left(output)

    assert status == 0, output
    assert [line for line in output.splitlines() if "ERROR" in line] == []
    assert "Error while closing socket" not in output  # a normal stop says nothing wrong
    assert leftovers == []
    assert processes_of_task(task_id) == []
    # Interrupted, not failed: the next start's maintenance runs it again, as after a crash.
    assert task_status(env, task_id) == "processing"
    time.sleep(3.5)  # heartbeats stopped with the worker
    assert "requeued: 1" in manage({**env, "STALE_TASK_TIMEOUT": "3"}, "run_maintenance")
    assert task_status(env, task_id) == "waiting"
