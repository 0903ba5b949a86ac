"""Load scenario on the default embedded set-up (SQLite, ORM broker, one host).

    .venv/bin/python bench/load.py                # 200 tasks, 20 creators, 20 pollers
    .venv/bin/python bench/load.py --tasks 60 --creators 6 --pollers 6

Starts the real stack (tests/support/stack.py: gunicorn 2x8 threads + one qcluster with
MAX_WORKERS=4) and the test media server, then 20 client threads create 200 `get_info`
tasks between them as fast as they are answered, while 20 other threads poll /status of
the newest tasks. Each task fetches a distinct URL (`?n=<i>`), so the media server's
request log counts how often each task really ran.

Reported: accepted tasks, HTTP errors by status (5xx must be 0), "database is locked" in
the stack's log (must be 0), tasks that did not reach completed/error (must be 0), tasks
executed other than exactly once (must be 0), creation throughput and latency
percentiles, status polls per second, and the time until the last task finished. The run
fails (exit 1) when any "must be 0" is not.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

PERMISSIONS = ["get_video", "get_audio", "get_info"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(tasks_total: int, creators: int, pollers: int) -> int:
    generate_media(MEDIA_CACHE_DIR)
    env = {"REQUEST_LIMIT": "1000000", "MAX_WORKERS": "4"}
    with tempfile.TemporaryDirectory(prefix="ytdlphost-load-") as tmp, MediaServer(
        MEDIA_CACHE_DIR
    ) as media, LiveStack(Path(tmp), env=env) as stack:  # fmt: skip
        url = media.url("progressive.mp4")
        key = stack.create_key("load", PERMISSIONS)
        headers = {"X-API-Key": key}

        # One lone task tells how many requests a single execution makes.
        solo = requests.post(
            f"{stack.base_url}/get_info", json={"url": f"{url}?n=solo"}, headers=headers,
            timeout=30,
        ).json()["task_id"]  # fmt: skip
        stack.wait_for(solo, key)
        per_task = media.count_query("/progressive.mp4", "n=solo")

        lock = threading.Lock()
        numbers = iter(range(tasks_total))
        task_ids: list[str] = []
        errors: collections.Counter = collections.Counter()
        create_latencies: list[float] = []
        polls = 0
        stop = threading.Event()

        def create():
            session = requests.Session()
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                began = time.perf_counter()
                try:
                    response = session.post(
                        f"{stack.base_url}/get_info", json={"url": f"{url}?n={n}"},
                        headers=headers, timeout=120,
                    )  # fmt: skip
                except requests.RequestException as exc:
                    errors[type(exc).__name__] += 1
                    continue
                with lock:
                    create_latencies.append(time.perf_counter() - began)
                    if response.status_code == 200:
                        task_ids.append(response.json()["task_id"])
                    else:
                        errors[response.status_code] += 1

        def poll():
            nonlocal polls
            session = requests.Session()
            while not stop.is_set():
                with lock:
                    recent = task_ids[-5:]
                for task_id in recent:
                    try:
                        response = session.get(
                            f"{stack.base_url}/status/{task_id}", headers=headers, timeout=120
                        )
                    except requests.RequestException as exc:
                        errors[type(exc).__name__] += 1
                        continue
                    with lock:
                        polls += 1
                        if response.status_code != 200:
                            errors[response.status_code] += 1
                time.sleep(0.005)

        started = time.perf_counter()
        threads = [threading.Thread(target=create) for _ in range(creators)]
        poll_threads = [threading.Thread(target=poll) for _ in range(pollers)]
        for thread in threads + poll_threads:
            thread.start()
        for thread in threads:
            thread.join()
        created_in = time.perf_counter() - started
        unfinished = 0
        for task_id in task_ids:
            try:
                stack.wait_for(task_id, key, timeout=600)
            except TimeoutError:
                unfinished += 1
        finished_in = time.perf_counter() - started
        stop.set()
        for thread in poll_threads:
            thread.join()

        executions = [media.count_query("/progressive.mp4", f"n={n}") for n in range(tasks_total)]
        not_once = sum(1 for count in executions if count != per_task)
        locked = stack.log_path.read_text().count("database is locked")
        server_errors = sum(v for k, v in errors.items() if isinstance(k, int) and k >= 500)

    print(f"load: {tasks_total} get_info tasks, {creators} creators, {pollers} pollers")
    print(f"  accepted                 {len(task_ids)}")
    print(f"  errors by status         {dict(errors) or 'none'}")
    print(f"  5xx                      {server_errors}")
    print(f"  'database is locked'     {locked}")
    print(f"  unfinished tasks         {unfinished}")
    print(f"  not executed exactly once {not_once}  (one execution = {per_task} requests)")
    print(f"  creation                 {len(create_latencies) / created_in:.1f} tasks/s, "
          f"p50 {statistics.median(create_latencies) * 1000:.0f} ms, "
          f"p99 {percentile(create_latencies, 0.99) * 1000:.0f} ms")  # fmt: skip
    print(f"  status polls             {polls / finished_in:.0f} /s")
    print(f"  all finished after       {finished_in:.1f} s")
    failed = server_errors or locked or unfinished or not_once or len(task_ids) != tasks_total
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--creators", type=int, default=20)
    parser.add_argument("--pollers", type=int, default=20)
    args = parser.parse_args()
    sys.exit(run(args.tasks, args.creators, args.pollers))


if __name__ == "__main__":
    main()
