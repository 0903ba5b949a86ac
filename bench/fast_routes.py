"""Each fast route against its own view, through the same server, with wrk (issue 21: a fast
route stays only where it is at least 1.5x its view's requests/s).

Run from the repository root:

    .venv/bin/python bench/fast_routes.py              # 3 rounds of 8 s per URL and side
    .venv/bin/python bench/fast_routes.py --rounds 2 --seconds 5

What it starts: the test media behind a MediaServer on 127.0.0.1 and two LiveStacks
(gunicorn as gunicorn.conf.py configures it, one qcluster each) on fresh DATA_DIRs, alike
but for FAST_ROUTES_DISABLED: on one every fast route answers, on the other every request
goes to its view. On each, one key with PAGE_TASKS completed get_info tasks of the DASH
manifest (a full page of /tasks) and a get_audio task of the progressive MP4.

What it measures: `wrk -t2 -c16 -d<seconds>s --latency` (bench/wrk.py) on each URL, the
fast side and the view side alternating, for --rounds rounds, so a change of the machine's
load affects both alike: GET /status/<id>; GET /files/<id>/info.json (a small file);
GET /tasks, whole and with If-None-Match of its ETag (the 304); GET /healthz?skip=workers.
Reported per URL: the median over rounds of each side's requests/s and p99, and their
ratio (fast / view). Any answer but 2xx or 304, or a socket error, is counted and
printed. The 1-minute load average is printed with each measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.status import PAGE_TASKS, failed_requests, fill_the_task_list  # noqa: E402
from bench.wrk import describe, run_wrk  # noqa: E402
from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

KEEP_RATIO = 1.5
EVERY_FAST_ROUTE = "status,files,tasks,healthz"


def prepared(stack: LiveStack, media: MediaServer) -> list[tuple[str, str, dict]]:
    """(label, url, headers) of each measured URL on this stack, its data made."""
    key = stack.create_key("bench", ["get_info", "get_audio"])
    headers = {"X-API-Key": key}
    info = stack.run(key, "/get_info", {"url": media.url("dash/manifest.mpd")})
    assert info["status"] == "completed", info
    fill_the_task_list(stack, key, media.url("dash/manifest.mpd"), PAGE_TASKS - 1)
    tasks_url = f"{stack.base_url}/tasks"
    etag = requests.get(tasks_url, headers=headers, timeout=10).headers["ETag"]
    return [
        ("GET /status", f"{stack.base_url}/status/{info['task_id']}", headers),
        ("GET /files info.json", f"{stack.base_url}{info['file']}", headers),
        ("GET /tasks", tasks_url, headers),
        ("GET /tasks If-None-Match (304)", tasks_url, {**headers, "If-None-Match": etag}),
        ("GET /healthz?skip=workers", f"{stack.base_url}/healthz?skip=workers", {}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    generate_media(MEDIA_CACHE_DIR)
    with (
        tempfile.TemporaryDirectory(prefix="ytdlphost-fast-routes-bench-") as scratch,
        MediaServer(MEDIA_CACHE_DIR) as media,
        LiveStack(Path(scratch) / "fast", env={"REQUEST_LIMIT": "100000"}) as fast,
        LiveStack(
            Path(scratch) / "view",
            env={"REQUEST_LIMIT": "100000", "FAST_ROUTES_DISABLED": EVERY_FAST_ROUTE},
        ) as view,
    ):
        sides = {"fast": prepared(fast, media), "view": prepared(view, media)}
        labels = [label for label, _, _ in sides["fast"]]
        results = {(label, side): [] for label in labels for side in sides}
        for round_number in range(1, args.rounds + 1):
            for index, label in enumerate(labels):
                for side, measured in sides.items():
                    _, url, headers = measured[index]
                    result = run_wrk(url, headers, seconds=args.seconds)
                    results[(label, side)].append(result)
                    load = os.getloadavg()[0]
                    print(
                        f"round {round_number}  {label:30} {side:4} {describe(result)}"
                        f"  load {load:.2f}",
                        flush=True,
                    )

    print(f"\nmedians of {args.rounds} rounds; keep a fast route at >= {KEEP_RATIO:g}x its view")
    summary = {}
    for label in labels:
        rates = {
            side: statistics.median(r.requests_per_second for r in results[(label, side)])
            for side in sides
        }
        p99s = {side: statistics.median(r.p99_ms for r in results[(label, side)]) for side in sides}
        failures = sum(failed_requests(r) for side in sides for r in results[(label, side)])
        ratio = rates["fast"] / rates["view"]
        summary[label] = {"requests_per_second": rates, "p99_ms": p99s, "ratio": ratio,
                          "failures": failures}  # fmt: skip
        print(
            f"  {label:30} fast {rates['fast']:7.1f} req/s (p99 {p99s['fast']:6.2f} ms)  "
            f"view {rates['view']:7.1f} req/s (p99 {p99s['view']:6.2f} ms)  "
            f"ratio {ratio:4.2f}  failures {failures}"
        )
    print(f"load average now {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
