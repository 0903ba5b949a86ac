"""End-to-end benchmark of ytdlphost: the real stack, real yt-dlp, local media only.

Run from the repository root:

    .venv/bin/python bench/run.py            # full run, under a minute on 2 cores
    .venv/bin/python bench/run.py --quick    # shorter durations, smaller file, ~25 s

What it starts: the synthetic test media (tests/support/media.py, cached in .cache/test-media)
behind a MediaServer on 127.0.0.1, and a LiveStack (tests/support/stack.py: migrate, gunicorn
with 2 workers x 8 threads, one `manage.py qcluster`) on a fresh DATA_DIR in a temporary
directory, with REQUEST_LIMIT=100000 and MAX_WORKERS=4. A "bench" key with every download
permission is created through POST /create_key. Everything (stack, media servers) is stopped in
a `finally`, also on Ctrl-C or SIGTERM.

Scenarios, each next to a baseline measured in the same run on the same machine:

1. info latency. 50 `POST /get_info` tasks on the DASH manifest. They are submitted by
   MAX_WORKERS (4) concurrent submitters in a closed loop: each submitter POSTs a task, polls
   its /status every 50 ms until `completed`, then submits the next one. So at most 4 tasks are
   in flight, one per queue worker, and the latency is the service's own overhead rather than
   the depth of a queue we filled ourselves (50 tasks submitted at once would mostly measure
   waiting behind each other). Reported: median and p90 of the seconds from sending the POST
   to receiving a /status that says `completed` (resolution 50 ms; on average ~25 ms of
   the figure is polling delay), plus the tasks/s the 4 submitters achieved.
   Baseline: `yt_dlp.YoutubeDL({quiet...}).extract_info(url, download=False)` in this process,
   50 times one after another, 25 before and 25 after the service's tasks so that a change of
   the machine's load in between affects both alike (after one untimed warm-up call; the
   service's queue workers are warmed up with 4 untimed tasks too). The ratio
   service/baseline is what a client pays for going through the service. The breakdown line,
   from the service's own timestamps, splits it: "queue wait" (created -> a worker claimed
   it; django-q2's ORM broker polls every 0.2 s) and "finished -> seen" (our polling) are the
   queueing machinery; "worker" is the extraction itself, but 4 at once on the machine's
   cores, so compared with the sequential baseline it also contains CPU contention.

2. status throughput. 16 client threads, each with its own keep-alive requests.Session,
   hammer `GET /status/<id>` of a completed task for 10 s (3 s with --quick). Reported:
   requests/s, errors (anything but HTTP 200, or an exception; must be 0), p50/p99 latency,
   and the CPU used meanwhile by gunicorn and by this client process (in cores; the machine
   has only a few, and the Python client competes with the server for them, so the absolute
   figure is a lower bound of what the server could do with a faster client). Server CPU per
   request (gunicorn's CPU seconds / requests) is the figure least affected by the client.
   Baseline: the same load on `GET /no-such-route` (no key, no database: Django's URL
   resolver and the JSON 404 handler only), i.e. the cost of the framework and gunicorn
   alone. The ratio shows what authentication + the task lookup cost per request.

3. large download. A progressive H.264/AAC MP4 of ~400 MB (~100 MB with --quick), generated
   once with ffmpeg (noise video, which x264 cannot compress, concatenated with `-c copy`)
   and cached in .cache/bench-media/. It is served by its own MediaServer. Measured,
   alternating CLI, service, CLI, service (2 runs each, 1 with --quick; medians reported):
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

How to read it: ratios are service/baseline, so >1 means the service is that many times slower
than doing the same thing directly. The machine is usually shared and noisy: compare ratios
from the same run rather than absolute numbers across runs, and check the load averages in
the report's header (anything well above the core count means other processes competed).
The report is printed at the end and also written as JSON to bench/results/latest.json
(gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402
import yt_dlp  # noqa: E402

from tests.support.media import FFMPEG, MediaServer, generate_media  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

MEDIA_CACHE_DIR = REPO / ".cache" / "test-media"  # as tests/support/media_fixtures.py
BENCH_MEDIA_DIR = REPO / ".cache" / "bench-media"
RESULTS_PATH = REPO / "bench" / "results" / "latest.json"
VENV_BIN = Path(sys.executable).parent

MAX_WORKERS = 4
BENCH_PERMISSIONS = ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]

INFO_TASKS = 50
INFO_POLL = 0.05
STATUS_THREADS = 16
DOWNLOAD_POLL = 0.1


# Set when the run is being torn down: client threads stop at their next request.
STOP = threading.Event()


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
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is field 3 (state): sid is field 6, utime 14, stime 15.
        if int(fields[3]) == session_id:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def join_all(threads: list[threading.Thread]) -> None:
    """Join with a timeout so that Ctrl-C reaches the main thread meanwhile."""
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# the large file


NOISE_VIDEO = "nullsrc=size=1280x720:rate=25:duration=4,noise=alls=100:allf=t"


def ensure_large_file(target_mb: int) -> Path:
    """A progressive MP4 of about target_mb MB in BENCH_MEDIA_DIR; reused when its size
    matches the one recorded next to it when it was made."""
    BENCH_MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_MEDIA_DIR / f"large-{target_mb}mb.mp4"
    marker = path.with_suffix(".json")
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(marker.read_text())["size"] == path.stat().st_size:
            return path
    log(f"generating {path.name} with ffmpeg (cached afterwards)")
    marker.unlink(missing_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=BENCH_MEDIA_DIR, prefix=".gen-") as work:
        chunk = Path(work) / "chunk.mp4"
        # 4 s of 720p noise at ~40 Mbit/s: ~20 MB, encoded in well under a second.
        subprocess.run(
            [
                FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-y",
                "-f", "lavfi", "-i", NOISE_VIDEO,
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-b:v", "40M", "-maxrate", "40M", "-bufsize", "80M", "-g", "50",
                "-c:a", "aac", "-b:a", "64k", "-shortest", str(chunk),
            ],
            check=True,
        )  # fmt: skip
        copies = max(1, round(target_mb * 1e6 / chunk.stat().st_size))
        listing = Path(work) / "list.txt"
        listing.write_text("".join(f"file '{chunk}'\n" for _ in range(copies)))
        partial = Path(work) / "large.mp4"
        subprocess.run(
            [
                FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-y",
                "-f", "concat", "-safe", "0", "-i", str(listing),
                "-c", "copy", "-movflags", "+faststart", str(partial),
            ],
            check=True,
        )  # fmt: skip
        os.replace(partial, path)
    marker.write_text(json.dumps({"size": path.stat().st_size}))
    log(f"generated {path.stat().st_size / 1e6:.0f} MB in {time.monotonic() - started:.1f} s")
    return path


# --------------------------------------------------------------------------------------------
# the stack


class Bench:
    def __init__(self, stack: LiveStack, key: str):
        self.stack = stack
        self.base = stack.base_url
        self.key = key
        self.headers = {"X-API-Key": key}

    def submit(self, session: requests.Session, endpoint: str, body: dict) -> str:
        response = session.post(
            f"{self.base}/{endpoint}", json=body, headers=self.headers, timeout=30
        )
        if response.status_code != 200:
            raise RuntimeError(f"POST /{endpoint}: {response.status_code} {response.text}")
        return response.json()["task_id"]

    def poll(self, session: requests.Session, task_id: str, every: float, timeout=300.0):
        """Poll /status every `every` s (on a fixed schedule); (status body, perf_counter
        when the finished status was received)."""
        deadline = time.perf_counter() + timeout
        next_poll = time.perf_counter()
        while time.perf_counter() < deadline and not STOP.is_set():
            body = session.get(
                f"{self.base}/status/{task_id}", headers=self.headers, timeout=30
            ).json()
            seen = time.perf_counter()
            if body["status"] == "completed":
                return body, seen
            if body["status"] == "error":
                raise RuntimeError(f"task {task_id} failed: {body.get('error')}")
            next_poll += every
            time.sleep(max(0.0, next_poll - time.perf_counter()))
        if STOP.is_set():
            raise Aborted("stopping")
        raise TimeoutError(f"task {task_id} did not finish in {timeout} s")


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


# --------------------------------------------------------------------------------------------
# scenario 1: info latency


def baseline_extractions(url: str, count: int) -> list[float]:
    """Seconds of `count` in-process extract_info calls, each with a new YoutubeDL."""
    options = {"quiet": True, "no_warnings": True, "noprogress": True, "cachedir": False}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        yt_dlp.YoutubeDL(options).extract_info(url, download=False)
        times.append(time.perf_counter() - started)
    return times


def info_latency(bench: Bench, url: str) -> dict:
    # Baseline, first half, after an untimed warm-up call.
    baseline_extractions(url, 1)
    baseline = baseline_extractions(url, INFO_TASKS // 2)

    # Warm-up: one task per queue worker, untimed (first yt-dlp use in a worker process).
    with requests.Session() as session:
        warm = [bench.submit(session, "get_info", {"url": url}) for _ in range(MAX_WORKERS)]
        for task_id in warm:
            bench.poll(session, task_id, INFO_POLL)

    latencies: list[float] = []
    post_times: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    remaining = [INFO_TASKS]
    completed_ids: list[str] = []
    breakdowns: list[dict] = []

    def submitter():
        with requests.Session() as session:
            while True:
                with lock:
                    if remaining[0] <= 0 or failures:
                        return
                    remaining[0] -= 1
                try:
                    wall_start = time.time()
                    started = time.perf_counter()
                    task_id = bench.submit(session, "get_info", {"url": url})
                    accepted = time.perf_counter()
                    body, seen = bench.poll(session, task_id, INFO_POLL)
                except Exception as exc:
                    with lock:
                        failures.append(repr(exc))
                    return
                with lock:
                    latencies.append(seen - started)
                    post_times.append(accepted - started)
                    breakdowns.append(phases(body, wall_start, seen - started))
                    completed_ids.append(task_id)

    threads = [
        threading.Thread(target=submitter, daemon=True, name=f"submitter-{i}")
        for i in range(MAX_WORKERS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    join_all(threads)
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"info latency: {failures[0]}")

    # Baseline, second half (the first half ran before the service, to even out load drift).
    baseline += baseline_extractions(url, INFO_TASKS - len(baseline))

    service = summary(latencies)
    base = summary(baseline)
    return {
        "tasks": INFO_TASKS,
        "submitters": MAX_WORKERS,
        "poll_interval_s": INFO_POLL,
        "service_s": service,
        "post_s": summary(post_times),
        "breakdown_median_s": {
            k: statistics.median(b[k] for b in breakdowns) for k in breakdowns[0]
        },
        "tasks_per_s": INFO_TASKS / wall,
        "baseline_s": base,
        "ratio_p50": service["p50"] / base["p50"],
        "ratio_p90": service["p90"] / base["p90"],
        "samples_service_s": latencies,
        "samples_baseline_s": baseline,
        "completed_task_id": completed_ids[0],
    }


# --------------------------------------------------------------------------------------------
# scenario 2: status throughput


def hammer(url: str, headers: dict, expect: int, seconds: float, gunicorn_sid: int) -> dict:
    # A few untimed requests so that every connection and worker thread exists.
    with requests.Session() as session:
        for _ in range(20):
            session.get(url, headers=headers, timeout=10)

    barrier = threading.Barrier(STATUS_THREADS + 1)
    results: list[tuple[int, int, list[float]]] = []
    lock = threading.Lock()
    deadline = [0.0]

    def client():
        latencies: list[float] = []
        count = errors = 0
        with requests.Session() as session:
            session.headers.update(headers)
            barrier.wait()
            while time.perf_counter() < deadline[0] and not STOP.is_set():
                started = time.perf_counter()
                try:
                    response = session.get(url, timeout=10)
                    ok = response.status_code == expect
                except requests.RequestException:
                    ok = False
                latencies.append(time.perf_counter() - started)
                count += 1
                errors += not ok
        with lock:
            results.append((count, errors, latencies))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(STATUS_THREADS)]
    for thread in threads:
        thread.start()
    server_cpu = session_cpu_seconds(gunicorn_sid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    join_all(threads)
    wall = time.perf_counter() - started
    server_cpu = session_cpu_seconds(gunicorn_sid) - server_cpu
    client_cpu = time.process_time() - client_cpu

    latencies = [latency for _, _, values in results for latency in values]
    requests_done = sum(count for count, _, _ in results)
    return {
        "requests": requests_done,
        "errors": sum(errors for _, errors, _ in results),
        "rps": requests_done / wall,
        "latency_ms": {k: v * 1000 for k, v in summary(latencies).items() if k != "n"},
        "server_cpu_cores": server_cpu / wall,
        "server_cpu_ms_per_request": server_cpu * 1000 / max(requests_done, 1),
        "client_cpu_cores": client_cpu / wall,
        "wall_s": wall,
    }


def status_throughput(bench: Bench, task_id: str, seconds: float) -> dict:
    # LiveStack starts each process with start_new_session, so its sid is its pid.
    gunicorn_sid = next(p.pid for p in bench.stack.processes if "gunicorn" in str(p.args[0]))
    status = hammer(f"{bench.base}/status/{task_id}", bench.headers, 200, seconds, gunicorn_sid)
    baseline = hammer(f"{bench.base}/no-such-route", {}, 404, seconds, gunicorn_sid)
    return {
        "threads": STATUS_THREADS,
        "seconds": seconds,
        "status": status,
        "baseline_404": baseline,
        "ratio_rps": status["rps"] / baseline["rps"],
        "ratio_p50": status["latency_ms"]["p50"] / baseline["latency_ms"]["p50"],
        "ratio_p99": status["latency_ms"]["p99"] / baseline["latency_ms"]["p99"],
        "ratio_cpu_per_request": status["server_cpu_ms_per_request"]
        / baseline["server_cpu_ms_per_request"],
    }


# --------------------------------------------------------------------------------------------
# scenario 3: large download


def parse_time(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def phases(body: dict, wall_start: float, elapsed: float) -> dict:
    """Where a task's time went, from the service's own timestamps (same machine, same
    clock): POST to row created, waiting in the queue, in the worker, and from finished to
    the client seeing `completed` (the polling delay plus one /status request)."""
    created, started_at, finished = (
        parse_time(body[k]) for k in ("created_at", "started_at", "finished_at")
    )
    return {
        "post_to_created_s": created - wall_start,
        "queue_wait_s": started_at - created,
        "worker_s": finished - started_at,
        "finished_to_seen_s": wall_start + elapsed - finished,
    }


def run_cli(url: str, out_dir: Path, size: int) -> float:
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "yt-dlp"), "-q", "-o", str(out_dir / "cli.%(ext)s"), url], check=True
    )
    elapsed = time.perf_counter() - started
    produced = list(out_dir.iterdir())
    if len(produced) != 1 or produced[0].stat().st_size != size:
        raise RuntimeError(f"yt-dlp CLI produced {produced}, expected one file of {size} B")
    shutil.rmtree(out_dir)
    return elapsed


def run_service(bench: Bench, url: str, out_dir: Path, size: int) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    with requests.Session() as session:
        wall_start = time.time()
        started = time.perf_counter()
        task_id = bench.submit(session, "get_video", {"url": url, "output_format": "mp4"})
        body, seen = bench.poll(session, task_id, DOWNLOAD_POLL)
        target = out_dir / "service.mp4"
        get_started = time.perf_counter()
        with session.get(f"{bench.base}{body['file']}", stream=True, timeout=60) as response:
            response.raise_for_status()
            with open(target, "wb") as handle:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    handle.write(chunk)
        on_disk = time.perf_counter()
    if target.stat().st_size != size:
        raise RuntimeError(f"service file has {target.stat().st_size} B, expected {size}")
    shutil.rmtree(out_dir)
    return {
        "to_completed_s": seen - started,
        "to_file_s": on_disk - started,
        **phases(body, wall_start, seen - started),
        "get_s": on_disk - get_started,
    }


def large_download(bench: Bench, path: Path, runs: int, work: Path, small_url: str) -> dict:
    size = path.stat().st_size
    cli_times: list[float] = []
    service_runs: list[dict] = []
    # The CLI's fixed cost (interpreter start, extractor loading): the same command on the
    # 0.9 MB test clip, where the transfer itself takes a few milliseconds.
    small_size = (MEDIA_CACHE_DIR / "progressive.mp4").stat().st_size
    cli_small = statistics.median(
        run_cli(small_url, work / "cli-small", small_size) for _ in range(max(runs, 2))
    )
    with MediaServer(path.parent) as server:
        url = server.url(path.name)
        for run in range(runs):
            log(f"large download run {run + 1}/{runs}: CLI")
            cli_times.append(run_cli(url, work / "cli", size))
            log(f"large download run {run + 1}/{runs}: service")
            service_runs.append(run_service(bench, url, work / "client", size))
    cli = statistics.median(cli_times)
    medians = {k: statistics.median(r[k] for r in service_runs) for k in service_runs[0]}
    return {
        "file": path.name,
        "bytes": size,
        "runs": runs,
        "cli_s": cli,
        "cli_runs_s": cli_times,
        "cli_small_file_s": cli_small,
        "service_median_s": medians,
        "service_runs": service_runs,
        "ratio_to_completed": medians["to_completed_s"] / cli,
        "ratio_to_file": medians["to_file_s"] / cli,
    }


# --------------------------------------------------------------------------------------------
# report


def report_text(results: dict) -> str:
    meta = results["meta"]
    lines = [
        f"ytdlphost bench  {meta['date']}  mode={meta['mode']}  cores={meta['cores']}  "
        f"python {meta['python']}  yt-dlp {meta['yt_dlp']}",
        f"stack: gunicorn 2 workers x 8 gthreads, 1 qcluster with MAX_WORKERS={MAX_WORKERS}, "
        f"SQLite; total bench time {meta['total_s']:.0f} s",
        "1-min load average (this run included) at start and after each scenario: "
        + ", ".join(f"{k} {v:.1f}" for k, v in meta["loadavg_1min"].items()),
    ]
    info = results.get("info_latency")
    if info:
        s, b = info["service_s"], info["baseline_s"]
        lines += [
            "",
            f"[info latency] {info['tasks']} get_info tasks on the DASH manifest, "
            f"{info['submitters']} closed-loop submitters, poll every "
            f"{info['poll_interval_s'] * 1000:.0f} ms",
            f"  service  POST -> completed     p50 {s['p50']:.3f} s  p90 {s['p90']:.3f} s  "
            f"(POST itself p50 {info['post_s']['p50'] * 1000:.0f} ms; "
            f"{info['tasks_per_s']:.1f} tasks/s)",
            "  service breakdown (medians): queue wait {queue_wait_s:.3f} s, worker "
            "{worker_s:.3f} s, finished -> seen {finished_to_seen_s:.3f} s".format(
                **info["breakdown_median_s"]
            ),
            f"  baseline in-process extract_info p50 {b['p50']:.3f} s  p90 {b['p90']:.3f} s",
            f"  ratio service/baseline         p50 {info['ratio_p50']:.1f}x  "
            f"p90 {info['ratio_p90']:.1f}x",
        ]
    status = results.get("status_throughput")
    if status:
        lines += [
            "",
            f"[status throughput] {status['threads']} threads, keep-alive sessions, "
            f"{status['seconds']:g} s each",
        ]
        for label, key in (
            ("GET /status/<id>  ", "status"),
            ("GET /no-such-route", "baseline_404"),
        ):
            r = status[key]
            lines += [
                f"  {label} {r['rps']:6.0f} req/s  errors {r['errors']}  "
                f"p50 {r['latency_ms']['p50']:5.1f} ms  p99 {r['latency_ms']['p99']:5.1f} ms",
                f"  {'':18} CPU: server {r['server_cpu_cores']:.2f} cores "
                f"({r['server_cpu_ms_per_request']:.2f} ms/req), "
                f"client {r['client_cpu_cores']:.2f} cores",
            ]
        lines.append(
            f"  ratio status/404   throughput {status['ratio_rps']:.2f}x  "
            f"p50 latency {status['ratio_p50']:.2f}x  p99 latency {status['ratio_p99']:.2f}x  "
            f"server CPU/req {status['ratio_cpu_per_request']:.2f}x"
        )
    large = results.get("large_download")
    if large:
        m = large["service_median_s"]
        mb = large["bytes"] / 1e6
        lines += [
            "",
            f"[large download] {mb:.0f} MB progressive MP4, {large['runs']} run(s) each, "
            f"alternating, medians",
            f"  CLI yt-dlp                  {large['cli_s']:6.2f} s  "
            f"({mb / large['cli_s']:.0f} MB/s)  runs: "
            + ", ".join(f"{t:.2f}" for t in large["cli_runs_s"]),
            f"    (of which fixed cost: the same command on the 0.9 MB clip takes "
            f"{large['cli_small_file_s']:.2f} s)",
            f"  service to completed        {m['to_completed_s']:6.2f} s  "
            f"ratio {large['ratio_to_completed']:.2f}x  runs: "
            + ", ".join(f"{r['to_completed_s']:.2f}" for r in large["service_runs"]),
            f"  service to file on client   {m['to_file_s']:6.2f} s  "
            f"ratio {large['ratio_to_file']:.2f}x  runs: "
            + ", ".join(f"{r['to_file_s']:.2f}" for r in large["service_runs"]),
            f"  service breakdown (medians): queue wait {m['queue_wait_s']:.2f} s, worker "
            f"{m['worker_s']:.2f} s, finished -> seen {m['finished_to_seen_s']:.2f} s,",
            f"    GET of the file to client disk {m['get_s']:.2f} s ({mb / m['get_s']:.0f} MB/s)",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 s throughput runs, a ~100 MB file, 1 run each"
    )
    args = parser.parse_args()

    def on_sigterm(signum, frame):
        raise Aborted("SIGTERM")

    signal.signal(signal.SIGTERM, on_sigterm)

    status_seconds = 3.0 if args.quick else 10.0
    large_mb, large_runs = (100, 1) if args.quick else (400, 2)
    began = time.perf_counter()
    results: dict = {
        "meta": {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "yt_dlp": yt_dlp.version.__version__,
            "platform": platform.platform(),
            "loadavg_1min": {"start": os.getloadavg()[0]},
        }
    }

    log("preparing media")
    generate_media(MEDIA_CACHE_DIR)
    large_file = ensure_large_file(large_mb)

    media = stack = None
    with tempfile.TemporaryDirectory(prefix="ytdlphost-bench-") as tmp:
        work = Path(tmp)
        try:
            media = MediaServer(MEDIA_CACHE_DIR).start()
            stack = LiveStack(
                work / "data", env={"REQUEST_LIMIT": "100000", "MAX_WORKERS": str(MAX_WORKERS)}
            )
            log("starting the stack")
            stack.start()
            bench = Bench(stack, create_bench_key(stack))

            log(f"info latency: {INFO_TASKS} tasks + baseline")
            info = info_latency(bench, media.url("dash/manifest.mpd"))
            results["info_latency"] = info
            results["meta"]["loadavg_1min"]["info"] = os.getloadavg()[0]

            log(f"status throughput: 2 x {status_seconds:g} s")
            results["status_throughput"] = status_throughput(
                bench, info["completed_task_id"], status_seconds
            )
            results["meta"]["loadavg_1min"]["status"] = os.getloadavg()[0]

            log(f"large download: {large_file.name}")
            results["large_download"] = large_download(
                bench, large_file, large_runs, work, media.url("progressive.mp4")
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
    status = results["status_throughput"]
    return 1 if status["status"]["errors"] or status["baseline_404"]["errors"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Aborted):
        print("interrupted; the stack was stopped", file=sys.stderr)
        sys.exit(130)
