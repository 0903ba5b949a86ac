"""The hot GETs against the original yt-dlp-host service, with wrk, in one run (issue 13).

Run from the repository root:

    .venv/bin/python bench/status.py              # 3 rounds of 10 s per URL, about 3 minutes
    .venv/bin/python bench/status.py --rounds 1 --seconds 3

What it starts: the test media behind a MediaServer on 127.0.0.1; a LiveStack (gunicorn as
gunicorn.conf.py configures it for ./run.sh, one qcluster) on a fresh DATA_DIR; and the
original service (bench/baseline.py: Flask's development server on its JSON files). On each
side one get_info task of the DASH manifest, completed, owned by a key that may get_info;
on ours also a get_audio task of the progressive MP4 (its .m4a, about 80 KB: a small media
file) and PAGE_TASKS get_info tasks in all, so that /tasks answers a full page of 50.

What it measures: `wrk -t2 -c16 -d<seconds>s --latency` (bench/wrk.py) on each URL below,
ours and the original's alternating, for --rounds rounds, so a change of the machine's
load affects both sides alike. Ours: GET /status/<id>; GET /tasks as clients poll it, the
full page and with If-None-Match of its ETag (the 304 the web page and pollers get while
nothing changes); GET of /files/<id>/info.json and of the .m4a; GET /healthz?skip=workers
(not HEAD: wrk waits for the body that a HEAD answer's Content-Length announces). The
original's: GET /status/<id> and GET /files/<id>/info.json (it has no /tasks and no
/healthz). Reported per URL: the median over rounds of requests/s and of p99, each of
ours as a ratio to the original's /status requests/s (issue 13's goal: at least 2.0, with
p99 at most 50 ms), and ours of /files also to the original's own /files. Any answer but
2xx or 304, or a socket error, is counted and printed: a fast error is no throughput. The
1-minute load average is printed with each round (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.baseline import original_service  # noqa: E402
from bench.wrk import describe, run_wrk  # noqa: E402
from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

GOAL_RATIO = 2.0
GOAL_P99_MS = 50.0
# A full page of /tasks (its default limit).
PAGE_TASKS = 50


def original_task(url: str, key: str, media_url: str, timeout: float = 60.0) -> dict:
    """A completed get_info task of the original service: its /status body."""
    headers = {"X-API-Key": key}
    created = requests.post(f"{url}/get_info", json={"url": media_url}, headers=headers, timeout=10)
    created.raise_for_status()
    task_id = created.json()["task_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = requests.get(f"{url}/status/{task_id}", headers=headers, timeout=10).json()
        if status["status"] in ("completed", "error"):
            assert status["status"] == "completed", status
            return {"task_id": task_id, **status}
        time.sleep(0.2)  # its worker loop polls once a second
    raise RuntimeError(f"the original service's task {task_id} did not finish")


def targets(
    stack: LiveStack, key: str, original, original_status: dict, ours: dict, audio: dict
) -> list:
    """(label, side, method, url, headers) of every measured URL."""
    our_headers = {"X-API-Key": key}
    theirs = {"X-API-Key": original.admin_key}
    tasks_url = f"{stack.base_url}/tasks"
    etag = requests.get(tasks_url, headers=our_headers, timeout=10).headers["ETag"]
    return [
        ("original GET /status", "original", "GET",
         f"{original.url}/status/{original_status['task_id']}", theirs),
        ("original GET /files info.json", "original", "GET",
         f"{original.url}{original_status['file']}", theirs),
        ("GET /status", "ours", "GET", f"{stack.base_url}/status/{ours['task_id']}", our_headers),
        ("GET /tasks", "ours", "GET", tasks_url, our_headers),
        ("GET /tasks If-None-Match (304)", "ours", "GET", tasks_url,
         {**our_headers, "If-None-Match": etag}),
        ("GET /files info.json", "ours", "GET", f"{stack.base_url}{ours['file']}", our_headers),
        ("GET /files .m4a", "ours", "GET", f"{stack.base_url}{audio['file']}", our_headers),
        ("GET /healthz?skip=workers", "ours", "GET",
         f"{stack.base_url}/healthz?skip=workers", {}),
    ]  # fmt: skip


def failed_requests(result) -> int:
    """Answers but 2xx and 304 (the conditional poll's), and socket errors."""
    refused = sum(
        count for code, count in result.status_counts.items()
        if not (200 <= code < 300 or code == 304)
    )  # fmt: skip
    return refused + result.socket_errors


def fill_the_task_list(stack: LiveStack, key: str, media_url: str, count: int) -> None:
    """`count` more completed get_info tasks of the key (a page of /tasks to answer)."""
    task_ids = [stack.submit(key, "/get_info", {"url": media_url}) for _ in range(count)]
    for task_id in task_ids:
        assert stack.wait_for(task_id, key)["status"] == "completed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", help="measure only the URLs whose label contains this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    generate_media(MEDIA_CACHE_DIR)
    with (
        tempfile.TemporaryDirectory(prefix="ytdlphost-status-bench-") as scratch,
        MediaServer(MEDIA_CACHE_DIR) as media,
        LiveStack(Path(scratch) / "ours", env={"REQUEST_LIMIT": "100000"}) as stack,
        original_service(Path(scratch)) as original,
    ):
        media_url = media.url("dash/manifest.mpd")
        key = stack.create_key("bench", ["get_info", "get_audio"])
        ours = stack.run(key, "/get_info", {"url": media_url})
        assert ours["status"] == "completed", ours
        audio = stack.run(key, "/get_audio", {"url": media.url("progressive.mp4")})
        assert audio["status"] == "completed", audio
        fill_the_task_list(stack, key, media_url, PAGE_TASKS - 2)
        original_status = original_task(original.url, original.admin_key, media_url)
        measured = [
            target
            for target in targets(stack, key, original, original_status, ours, audio)
            if not args.only or args.only in target[0] or target[1] == "original"
        ]
        results: dict[str, list] = {label: [] for label, *_ in measured}
        for round_number in range(1, args.rounds + 1):
            for label, _side, method, url, headers in measured:
                result = run_wrk(url, headers, seconds=args.seconds, method=method)
                results[label].append(result)
                load = os.getloadavg()[0]
                print(
                    f"round {round_number}  {label:32} {describe(result)}  load {load:.2f}",
                    flush=True,
                )

    baseline_rate = statistics.median(
        r.requests_per_second for r in results["original GET /status"]
    )
    original_files_rate = statistics.median(
        r.requests_per_second for r in results["original GET /files info.json"]
    )
    print(
        f"\nmedians of {args.rounds} rounds; ratio = req/s / original /status req/s "
        f"({baseline_rate:.1f}); goal >= {GOAL_RATIO:g} with p99 <= {GOAL_P99_MS:g} ms; "
        f"load average now {os.getloadavg()[0]:.2f}"
    )
    summary = {}
    for label, runs in results.items():
        rate = statistics.median(r.requests_per_second for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        failures = sum(failed_requests(r) for r in runs)
        ratio = rate / baseline_rate
        files_ratio = rate / original_files_rate if "/files" in label else None
        summary[label] = {
            "requests_per_second": round(rate, 1),
            "p99_ms": round(p99, 2),
            "ratio": round(ratio, 2),
            "ratio_to_original_files": files_ratio and round(files_ratio, 2),
            "failures": failures,
            "rounds": [r.as_dict() for r in runs],
        }
        to_files = f"  ratio to original /files {files_ratio:5.2f}" if files_ratio else ""
        print(
            f"  {label:32} {rate:8.1f} req/s  p99 {p99:6.2f} ms  ratio {ratio:5.2f}  "
            f"failures {failures}{to_files}"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
