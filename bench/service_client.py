"""What bench/run.py and the benchmarks built on it share: a client of one service (`Bench`:
submit a task, poll its /status), our stack's bench key and orderly stop, one timed
`get_info` task with the breakdown of where ours spent its time, and small figures
(percentiles, a process session's CPU).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: F401 (the benchmarks' media)
from tests.support.processes import process_stats
from tests.support.stack import LiveStack

VENV_BIN = Path(sys.executable).parent

MAX_WORKERS = 4
BENCH_PERMISSIONS = ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]
INFO_POLL = 0.01
INFO_TIMEOUT = 60.0

# Set when the run is being torn down: client threads stop at their next request.
STOP = threading.Event()


class Stalled(Exception):
    """A task still waiting long after the service's queue should have taken it."""


class Aborted(Exception):
    """Raised in the main thread on SIGTERM so that the `finally` blocks run."""


# --------------------------------------------------------------------------------------------
# small helpers


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
    }


def session_cpu_seconds(session_id: int) -> float:
    """utime+stime of every live process in a session (LiveStack starts each of its
    processes in a new session, so gunicorn's master and workers share one)."""
    ticks = os.sysconf("SC_CLK_TCK")
    session = [fields for _, fields in process_stats() if int(fields[3]) == session_id]
    return sum(int(fields[11]) + int(fields[12]) for fields in session) / ticks


def join_all(threads: list[threading.Thread]) -> None:
    """Join with a timeout so that Ctrl-C reaches the main thread meanwhile."""
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    """A client of one service: ours (`stack` set) or the original yt-dlp-host.
    `server_session` is the session id of the service's web processes (for their CPU)."""

    def __init__(self, name: str, base_url: str, key: str, server_session: int, stack=None):
        self.name = name
        self.server_session = server_session
        self.base = base_url
        self.key = key
        self.headers = {"X-API-Key": key}
        self.stack = stack
        self.failed_polls = 0  # /status answers other than 200 while polling
        # A task that waits longer than this means the service's queue stopped (Stalled).
        self.stalled_after = math.inf

    def submit(self, session: requests.Session, endpoint: str, body: dict) -> str:
        response = session.post(
            f"{self.base}/{endpoint}", json=body, headers=self.headers, timeout=30
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.name}: POST /{endpoint}: {response.status_code} {response.text}"
            )
        return response.json()["task_id"]

    def poll(self, session: requests.Session, task_id: str, every: float, timeout=300.0):
        """Poll /status every `every` s (on a fixed schedule); (status body, perf_counter
        when the finished status was received)."""
        started = next_poll = time.perf_counter()
        deadline = started + timeout
        while time.perf_counter() < deadline and not STOP.is_set():
            response = session.get(
                f"{self.base}/status/{task_id}", headers=self.headers, timeout=30
            )
            seen = time.perf_counter()
            if response.status_code != 200:
                # The original service answers 500 when its read of tasks.json meets a
                # write of it half done; a client retries.
                self.failed_polls += 1
                body = {"status": None}
            else:
                body = response.json()
            if body["status"] == "completed":
                return body, seen
            if body["status"] == "waiting" and seen - started > self.stalled_after:
                raise Stalled(f"{self.name}: task {task_id} still waiting")
            if body["status"] == "error":
                raise RuntimeError(f"{self.name}: task {task_id} failed: {body.get('error')}")
            next_poll = max(next_poll + every, seen)
            time.sleep(max(0.0, next_poll - time.perf_counter()))
        if STOP.is_set():
            raise Aborted("stopping")
        raise TimeoutError(f"{self.name}: task {task_id} did not finish in {timeout} s")


def stop_stack(stack: LiveStack) -> None:
    """LiveStack.stop, after first asking each qcluster to stop on its own.

    A SIGTERM to the qcluster main process alone lets it stop its children (sentinel, pusher,
    monitor, workers) in order, in well under a second. Signalling its whole process group, as
    earlier versions of LiveStack.stop did, kills the sentinel underneath it and leaves the
    main process hanging until LiveStack's 20 s timeout and SIGKILL.
    """
    clusters = [p for p in stack.processes if "qcluster" in p.args and p.poll() is None]
    for process in clusters:
        process.send_signal(signal.SIGTERM)
    for process in clusters:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    stack.stop()


def create_bench_key(stack: LiveStack) -> str:
    # No limit of its own: REQUEST_LIMIT (100000 here), the most the admin key may grant.
    return stack.create_key("bench", BENCH_PERMISSIONS)


def row_time(value: str | None) -> float | None:
    """A timestamp of a task row as SQLite holds it (naive UTC text), as epoch seconds."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()


def our_phases(stack: LiveStack, task_id: str, posted: float, seen: float) -> dict:
    """Where one of our tasks spent its time, from its row's timestamps (same machine, same
    clock; `posted` and `seen` are time.time() of sending the POST and of receiving the
    `completed` status)."""
    row = stack.task_row(task_id)
    created, queued, started, finished = (
        row_time(row[k]) for k in ("created_at", "queued_at", "started_at", "finished_at")
    )
    return {
        "post_to_created_s": created - posted,
        "created_to_queued_s": queued - created,
        "queued_to_started_s": started - queued,
        "worker_s": finished - started,
        "finished_to_seen_s": seen - finished,
    }


def one_info_task(bench: Bench, session: requests.Session, url: str) -> tuple[float, dict]:
    """Seconds from sending the POST to receiving `completed`, and (ours) the breakdown."""
    posted, started = time.time(), time.perf_counter()
    task_id = bench.submit(session, "get_info", {"url": url})
    _, seen = bench.poll(session, task_id, INFO_POLL, timeout=INFO_TIMEOUT)
    latency = seen - started
    phases = our_phases(bench.stack, task_id, posted, posted + latency) if bench.stack else {}
    return latency, {"task_id": task_id, **phases}
