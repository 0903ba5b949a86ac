"""What the /tasks change signal costs its readers: the long poll's check
(TaskListWatch, which the poller calls every POLL_INTERVAL while any list waits) and a
poller's 304 (`GET /tasks` with If-None-Match, through the ASGI application), in this
process, without a network or a server, on a table of --keys keys with --tasks tasks each
(every fifth with a webhook delivery).

Run from the repository root:

    .venv/bin/python bench/task_list_checks.py    # 50 keys x 200 tasks, 10 keys waited on

It prints the CPU time (this process's: on a shared machine, less noisy than the wall
clock) of one check of --waited keys' lists, of one check of a list of every key's tasks
(`all=true`), and of one 304 of a page of 50; each the median of --rounds rounds of
--calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prepare(data_dir: str, keys: int, tasks: int) -> tuple[list[int], str]:
    """The ids of `keys` keys, each with `tasks` completed tasks, and the first's secret."""
    from bench.profile_status import migrated_service

    migrated_service(data_dir)
    from django.utils import timezone

    from downloads_app.models import Task, TaskStatus, TaskType, WebhookDelivery
    from keys_app.models import APIKey

    key_ids, secret = [], "checks-secret-0123456789abcdef"
    for number in range(keys):
        api_key, _ = APIKey.objects.create_key(
            f"bench-{number}", ["get_info"], secret=None if key_ids else secret
        )
        key_ids.append(api_key.pk)
        rows = [
            Task(
                api_key=api_key, task_type=TaskType.GET_INFO, url="http://127.0.0.1/x.mpd",
                status=TaskStatus.COMPLETED, title=f"Task {index}", file_name="info.json",
                downloaded_bytes=1000, total_bytes=1000, finished_at=timezone.now(),
            )
            for index in range(tasks)
        ]  # fmt: skip
        Task.objects.bulk_create(rows)
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                api_key=api_key, task_id=task.id, event_type="task.completed",
                url="http://127.0.0.1/hook", payload="{}", state="delivered", attempts=1,
            )
            for task in rows[::5]
        )  # fmt: skip
    return key_ids, secret


def per_call(function, calls: int, rounds: int) -> float:
    """CPU microseconds per call: the median round's."""
    function()
    times = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            function()
        times.append((time.process_time() - started) / calls)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--waited", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ytdlphost-checks-") as data_dir:
        key_ids, secret = prepare(data_dir, args.keys, args.tasks)
        from django.test import Client

        from bench.profile_status import asgi_loop
        from downloads_app.fast_routes.tasks import EVERY_KEY, TaskListWatch

        waited, watch_keys, watch_all = (
            set(key_ids[: args.waited]),
            TaskListWatch(),
            TaskListWatch(),
        )
        keys_check = per_call(lambda: watch_keys(waited), args.calls, args.rounds)
        every_check = per_call(lambda: watch_all({EVERY_KEY}), args.calls, args.rounds)
        etag = Client(HTTP_X_API_KEY=secret).get("/tasks").headers["ETag"]
        request = ("/tasks", "", {"x-api-key": secret, "if-none-match": etag}, 304)
        # 50 requests an event loop, as a web process serves them (not one loop each).
        batches = max(1, args.calls // 50)
        not_modified = per_call(lambda: asgi_loop(request, 50), batches, args.rounds) / 50
        print(f"{args.keys} keys x {args.tasks} tasks, CPU per call: check of {len(waited)} keys' "
              f"lists {keys_check:.0f} µs, of every key's list {every_check:.0f} µs; "
              f"a 304 of /tasks {not_modified:.0f} µs")  # fmt: skip


if __name__ == "__main__":
    main()
