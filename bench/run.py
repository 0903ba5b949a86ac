"""End-to-end benchmark of ytdlphost next to the original yt-dlp-host: the real stacks, real
yt-dlp, local media only.

Run from the repository root:

    .venv/bin/python bench/run.py              # full run, about 3 minutes on 2 cores
    .venv/bin/python bench/run.py --quick      # 20 info tasks a side, 3 s wrk runs, ~100 MB
    .venv/bin/python bench/run.py --only info  # some scenarios only (info, status, download)
    .venv/bin/python bench/run.py --redis      # ours on Redis ($TEST_REDIS_URL, or --redis URL)

What it starts: the synthetic test media (tests/support/media_files.py, cached in
.cache/test-media) behind a MediaServer on 127.0.0.1; ours as a LiveStack
(tests/support/stack.py: migrate, gunicorn as gunicorn.conf.py runs it, one `manage.py
qcluster`) on a fresh DATA_DIR in a temporary directory, with REQUEST_LIMIT=100000 and
MAX_WORKERS=4, SQLite and the ORM broker (REDIS_URL with --redis); and theirs, the original
service (bench/baseline.py: its Flask development server, from a copy of
../shared/baselines/yt-dlp-host, in a virtualenv of its own with our yt-dlp release). A
"bench" key with every download permission is created on ours through POST /create_key;
theirs is used with its admin key. Everything is stopped in a `finally`, also on Ctrl-C or
SIGTERM.

Scenarios:

1. info latency. One client in a closed loop, as the issue's figures were taken: POST
   /get_info on the DASH manifest, poll its /status every 10 ms until `completed`, then the
   next task, alternating between ours and theirs (so a change of the machine's load
   affects both alike), 40 tasks a side (20 with --quick) after 4 untimed ones each.
   Reported: median, p90 and max of the seconds from sending the POST to receiving the
   `completed` status, for both, and ours/theirs. Why one client: several submitters on one
   key would measure MAX_TASKS_PER_KEY (half of MAX_WORKERS), which keeps a key's tasks
   beyond its cap waiting until one of its running tasks ends. Ours is broken down from the
   task rows (same machine, same clock): POST -> created (the request), created -> queued
   (the queue message sent on commit), queued -> started (the broker handing it to a worker,
   the claim), worker (fork, extraction, finish), finished -> seen (the client's next poll).
   For scale, `extract_info` in this process, 10 calls, half before and half after.
   Theirs polls its task file once a second, so expect 0.5-1 s. Its worker loop is a thread
   that dies for good when its read of tasks.json meets a half-done write of it (its /status
   answers 500 in the same window): 500s are counted and polled past; a task of theirs still
   waiting after 5 s means the loop died, and the service is restarted (at most 5 times),
   that task left out of its figures; the report says how often.

2. status throughput. `wrk` with 16 keep-alive connections (2 threads, a Lua line adds the
   X-API-Key header) on `GET /status/<id>` of a completed get_info task, 10 s (3 s with
   --quick), ours then theirs, 2 rounds (1); medians of requests/s, p50/p99 latency, and
   the server's CPU per request (the CPU time of its process session over the requests).
   Non-2xx answers and socket errors are reported and fail the run.

3. large download (ours only). A progressive H.264/AAC MP4 of ~400 MB (~100 MB with
   --quick), generated once with ffmpeg (noise video, which x264 cannot compress,
   concatenated with `-c copy`) and cached in .cache/bench-media/. It is served by its own
   MediaServer. Measured, alternating CLI, service, CLI, service (2 runs each, 1 with
   --quick; medians reported):
   (a) `yt-dlp -q -o <tmp>/cli.%(ext)s <url>` wall time, i.e. what a user with a shell would
       pay, including the interpreter start;
   (b) the service: `POST /get_video {"url", "output_format": "mp4"}`, /status polled every
       100 ms, then `GET /files/...` streamed to disk. Reported "to completed" and "to file on
       client disk", each with its ratio to (a). The service's own timestamps (created_at,
       started_at, finished_at) break the time down into queue wait, worker time and the GET.
   Also reported: the same CLI command on the 0.9 MB test clip, i.e. the CLI's fixed cost
   (interpreter start, loading the extractors), which a warm queue worker does not pay. Both
   sides write the whole file to the local disk (the service twice: its own copy, then the
   client's), so on a slow or busy disk the write-back dominates these numbers.
   (The original service refuses downloads whose size it cannot estimate, which includes
   plain progressive files on generic URLs: it has no figure here.)

How to read it: ratios are ours/theirs or service/CLI, so >1 means ours is that many times
slower. The machine is usually shared and noisy: compare ratios from the same run rather
than absolute numbers across runs, and check the load averages in the report's header
(anything well above the core count means other processes competed). The report is printed
at the end and also written as JSON to bench/results/latest.json (gitignored).

This module runs the scenarios; each lives in a module of its own (run_info_latency.py,
run_status_throughput.py, run_large_download.py), with the report in run_report.py and what
other benchmarks share with this one (the client of a service, the stack's stop) in
service_client.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402
import yt_dlp  # noqa: E402

from bench.baseline import original_service  # noqa: E402
from bench.run_info_latency import INFO_TASKS, QUICK_INFO_TASKS, info_latency  # noqa: E402
from bench.run_large_download import ensure_large_file, large_download  # noqa: E402
from bench.run_report import report_text  # noqa: E402
from bench.run_status_throughput import status_throughput  # noqa: E402
from bench.service_client import (  # noqa: E402
    MAX_WORKERS,
    MEDIA_CACHE_DIR,
    STOP,
    Aborted,
    Bench,
    create_bench_key,
    log,
    one_info_task,
    stop_stack,
)
from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

RESULTS_PATH = REPO / "bench" / "results" / "latest.json"
SCENARIOS = ("info", "status", "download")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_INFO_TASKS} info tasks a side, 3 s wrk runs, a ~100 MB file, 1 run each",
    )
    parser.add_argument(
        "--redis",
        nargs="?",
        const=os.environ.get("TEST_REDIS_URL", ""),
        metavar="URL",
        help="run ours with REDIS_URL (the queue and the cache on Redis); without a URL, "
        "$TEST_REDIS_URL (scripts/test-services.sh start)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run, of {', '.join(SCENARIOS)} (default: all)",
    )
    args = parser.parse_args()
    scenarios = set(args.only.split(","))
    if not scenarios <= set(SCENARIOS):
        parser.error(f"--only: unknown scenario(s) {', '.join(scenarios - set(SCENARIOS))}")
    if args.redis == "":
        parser.error("--redis without a URL needs TEST_REDIS_URL (scripts/test-services.sh)")

    def on_sigterm(signum, frame):
        raise Aborted("SIGTERM")

    signal.signal(signal.SIGTERM, on_sigterm)

    info_tasks = QUICK_INFO_TASKS if args.quick else INFO_TASKS
    status_seconds, status_rounds = (3.0, 1) if args.quick else (10.0, 2)
    large_mb, large_runs = (100, 1) if args.quick else (400, 2)
    began = time.perf_counter()
    results: dict = {
        "meta": {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "broker": "Redis" if args.redis else "ORM (SQLite)",
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "yt_dlp": yt_dlp.version.__version__,
            "platform": platform.platform(),
            "loadavg_1min": {"start": os.getloadavg()[0]},
        }
    }

    log("preparing media")
    generate_media(MEDIA_CACHE_DIR)
    large_file = ensure_large_file(large_mb) if "download" in scenarios else None

    media = stack = None
    with tempfile.TemporaryDirectory(prefix="ytdlphost-bench-") as tmp:
        work = Path(tmp)
        try:
            media = MediaServer(MEDIA_CACHE_DIR).start()
            environment = {"REQUEST_LIMIT": "100000", "MAX_WORKERS": str(MAX_WORKERS)}
            if args.redis:
                environment["REDIS_URL"] = args.redis
            stack = LiveStack(work / "data", env=environment)
            log("starting ours and the original service")
            stack.start()
            # LiveStack and original_service start each process in a new session: sid == pid.
            gunicorn = next(p.pid for p in stack.processes if "gunicorn" in str(p.args[0]))
            ours = Bench("ours", stack.base_url, create_bench_key(stack), gunicorn, stack)
            with original_service(work) as original:
                theirs = Bench("theirs", original.url, original.admin_key, original.pid)
                info_url = media.url("dash/manifest.mpd")
                if "info" in scenarios:
                    log(f"info latency: {info_tasks} tasks on each side")
                    info = info_latency(ours, theirs, original, info_url, info_tasks)
                    results["info_latency"] = info
                    results["meta"]["loadavg_1min"]["info"] = os.getloadavg()[0]
                    task_ids = info["completed_task_ids"]
                else:
                    with requests.Session() as session:
                        task_ids = {
                            bench.name: one_info_task(bench, session, info_url)[1]["task_id"]
                            for bench in (ours, theirs)
                        }
                if "status" in scenarios:
                    results["status_throughput"] = status_throughput(
                        ours, theirs, task_ids, status_seconds, status_rounds, work
                    )
                    results["meta"]["loadavg_1min"]["status"] = os.getloadavg()[0]

            if "download" in scenarios:
                log(f"large download: {large_file.name}")
                results["large_download"] = large_download(
                    ours, large_file, large_runs, work, media.url("progressive.mp4")
                )
                results["meta"]["loadavg_1min"]["download"] = os.getloadavg()[0]
        finally:
            STOP.set()
            log("stopping the stack and the media server")
            stopping = time.perf_counter()
            if stack is not None:
                stop_stack(stack)
            results["meta"]["stack_stop_s"] = time.perf_counter() - stopping
            if media is not None:
                media.stop()

    results["meta"]["total_s"] = time.perf_counter() - began
    text = report_text(results)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps({**results, "report": text}, indent=2) + "\n")
    print(text)
    print(f"\n(JSON: {RESULTS_PATH.relative_to(REPO)})")
    status = results.get("status_throughput")
    failed = status and any(
        status[name]["non_2xx"] or status[name]["socket_errors"] for name in ("ours", "theirs")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Aborted):
        print("interrupted; the stack was stopped", file=sys.stderr)
        sys.exit(130)
