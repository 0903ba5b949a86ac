"""get_info of a direct file beside get_info of manifests of the same clip, on one stack.

Run from the repository root:

    .venv/bin/python bench/direct_info.py               # 40 tasks of each kind, ~1 minute
    .venv/bin/python bench/direct_info.py --tasks 20    # fewer

Ours only, started as bench/run.py starts it (a LiveStack with MAX_WORKERS=4 on a fresh
DATA_DIR, the test media behind a MediaServer on 127.0.0.1). One client in a closed loop, as
bench/run.py's info latency: POST /get_info, /status polled every 10 ms until `completed`,
then the next task, the kinds taken in turn (progressive MP4, DASH manifest, HLS manifest)
so that a change of the machine's load affects them alike, after 4 untimed rounds.
Reported for each kind: median, p90 and max of the seconds from sending the POST to
receiving `completed`, the worker's part of it (the task row's started_at -> finished_at),
and the direct file's median and p90 over each manifest's. For scale: `ffprobe` alone on the
file, through no relay (the issue's 0.08 s). The 1-minute load average at the start and the
end is printed with the figures, since the machine is shared. JSON goes to
bench/results/direct_info.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bench.service_client import (  # noqa: E402
    MAX_WORKERS,
    MEDIA_CACHE_DIR,
    Bench,
    create_bench_key,
    log,
    one_info_task,
    stop_stack,
    summary,
)
from tests.support.media_files import FFPROBE, generate_media  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

RESULTS_PATH = REPO / "bench" / "results" / "direct_info.json"
KINDS = {
    "direct": "progressive.mp4",
    "dash": "dash/manifest.mpd",
    "hls": "hls_vod/index.m3u8",
}
WARMUP_ROUNDS = 4
FFPROBE_RUNS = 10


def ffprobe_alone(path: Path, runs: int) -> dict:
    """Seconds of ffprobe reading the file from the disk, as get_info's probe asks it."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             str(path)],
            check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return summary(times)


def measure(bench: Bench, urls: dict[str, str], tasks: int) -> dict[str, dict]:
    latencies: dict[str, list[float]] = {kind: [] for kind in urls}
    worker: dict[str, list[float]] = {kind: [] for kind in urls}
    with requests.Session() as session:
        for _ in range(WARMUP_ROUNDS):
            for url in urls.values():
                one_info_task(bench, session, url)
        for index in range(tasks):
            for kind, url in urls.items():
                latency, phases = one_info_task(bench, session, url)
                latencies[kind].append(latency)
                worker[kind].append(phases["worker_s"])
            if (index + 1) % 10 == 0:
                log(f"{index + 1}/{tasks} tasks of each kind")
    return {
        kind: {"latency_s": summary(latencies[kind]), "worker_s": summary(worker[kind]),
               "samples_s": latencies[kind]}
        for kind in urls
    }  # fmt: skip


def report_text(results: dict) -> str:
    meta, kinds = results["meta"], results["kinds"]
    lines = [
        f"get_info, {meta['tasks']} tasks of each kind, one client, /status every 10 ms; "
        f"load average (1 min) {meta['load_start']:.2f} at the start, "
        f"{meta['load_end']:.2f} at the end ({meta['cores']} cores)",
        f"{'kind':<8}{'p50':>8}{'p90':>8}{'max':>8}   worker p50  worker p90",
    ]
    for kind, figures in kinds.items():
        latency, worker = figures["latency_s"], figures["worker_s"]
        lines.append(
            f"{kind:<8}{latency['p50']:>8.3f}{latency['p90']:>8.3f}{latency['max']:>8.3f}"
            f"   {worker['p50']:>10.3f}  {worker['p90']:>10.3f}"
        )
    direct = kinds["direct"]["latency_s"]
    for kind in ("dash", "hls"):
        other = kinds[kind]["latency_s"]
        lines.append(
            f"direct/{kind}: p50 {direct['p50'] / other['p50']:.2f}, "
            f"p90 {direct['p90'] / other['p90']:.2f}"
        )
    probe = results["ffprobe_alone_s"]
    lines.append(f"ffprobe alone on the file: p50 {probe['p50']:.3f} s, p90 {probe['p90']:.3f} s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=40, help="timed tasks of each kind")
    args = parser.parse_args()
    generate_media(MEDIA_CACHE_DIR)
    results: dict = {
        "meta": {
            "tasks": args.tasks,
            "cores": os.cpu_count(),
            "load_start": os.getloadavg()[0],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    }
    with tempfile.TemporaryDirectory(prefix="ytdlphost-bench-") as tmp:
        stack = None
        with MediaServer(MEDIA_CACHE_DIR) as media:
            try:
                stack = LiveStack(
                    Path(tmp) / "data",
                    env={"REQUEST_LIMIT": "100000", "MAX_WORKERS": str(MAX_WORKERS)},
                )
                log("starting the stack")
                stack.start()
                ours = Bench("ours", stack.base_url, create_bench_key(stack), 0, stack)
                urls = {kind: media.url(name) for kind, name in KINDS.items()}
                results["kinds"] = measure(ours, urls, args.tasks)
            finally:
                if stack is not None:
                    stop_stack(stack)
    results["ffprobe_alone_s"] = ffprobe_alone(MEDIA_CACHE_DIR / KINDS["direct"], FFPROBE_RUNS)
    results["meta"]["load_end"] = os.getloadavg()[0]
    text = report_text(results)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps({**results, "report": text}, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
