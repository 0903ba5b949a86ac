"""End-to-end benchmark of ytdlphost next to the original yt-dlp-host: the real stacks, real
yt-dlp, local media only.

Run from the repository root:

    .venv/bin/python bench/run.py              # full run, about 3 minutes on 2 cores
    .venv/bin/python bench/run.py --quick      # 20 info tasks a side, 3 s wrk runs, ~100 MB
    .venv/bin/python bench/run.py --only info  # some scenarios only (info, status, download)
    .venv/bin/python bench/run.py --redis      # ours on Redis ($TEST_REDIS_URL, or --redis URL)

What it starts: the synthetic test media (tests/support/media.py, cached in .cache/test-media)
behind a MediaServer on 127.0.0.1; ours as a LiveStack (tests/support/stack.py: migrate,
gunicorn as gunicorn.conf.py runs it, one `manage.py qcluster`) on a fresh DATA_DIR in a
temporary directory, with REQUEST_LIMIT=100000 and MAX_WORKERS=4, SQLite and the ORM broker
(REDIS_URL with --redis); and theirs, the original service (bench/baseline.py: its Flask
development server, from a copy of ../shared/baselines/yt-dlp-host, in a virtualenv of its
own with our yt-dlp release). A "bench" key with every download permission is created on
ours through POST /create_key; theirs is used with its admin key. Everything is stopped in
a `finally`, also on Ctrl-C or SIGTERM.

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
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
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

from bench.baseline import OriginalService, original_service  # noqa: E402
from tests.support.media import FFMPEG, MediaServer, generate_media  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

MEDIA_CACHE_DIR = REPO / ".cache" / "test-media"  # as tests/support/media_fixtures.py
BENCH_MEDIA_DIR = REPO / ".cache" / "bench-media"
RESULTS_PATH = REPO / "bench" / "results" / "latest.json"
VENV_BIN = Path(sys.executable).parent

MAX_WORKERS = 4
BENCH_PERMISSIONS = ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]

# Per service; each side also gets INFO_WARMUP untimed tasks first.
INFO_TASKS = 40
QUICK_INFO_TASKS = 20
INFO_WARMUP = 4
INFO_POLL = 0.01
INFO_TIMEOUT = 60.0
# The original service's worker loop looks for waiting tasks once a second: a task still
# waiting after this long means that loop died; the service is restarted at most so often.
THEIRS_STALLED_AFTER = 5.0
THEIRS_MAX_RESTARTS = 5
# In-process extract_info calls, for scale: half before the services' tasks, half after.
INFO_EXTRACTIONS = 10
WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_THREADS = 2
STATUS_CONNECTIONS = 16
DOWNLOAD_POLL = 0.1


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
# the services


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


def info_latency(
    ours: Bench, theirs: Bench, original: OriginalService, url: str, tasks: int
) -> dict:
    """One client, closed loop: submit a task, poll its /status every 10 ms until
    `completed`, then the next one, alternating between the two services."""
    theirs.stalled_after = THEIRS_STALLED_AFTER
    restarts = 0

    def measure(bench: Bench, session: requests.Session) -> tuple[float, dict] | None:
        nonlocal restarts
        try:
            return one_info_task(bench, session, url)
        except Stalled:
            if bench is not theirs or restarts >= THEIRS_MAX_RESTARTS:
                raise
        # Its worker thread died (OriginalService.restart): the task is left out of its
        # figures, counted, and the service restarted.
        log("info latency: the original service's worker loop died; restarting it")
        restarts += 1
        original.restart()
        theirs.server_session = original.pid
        return None

    baseline = baseline_extractions(url, 1 + INFO_EXTRACTIONS // 2)[1:]  # first: warm-up
    samples: dict[str, list[float]] = {ours.name: [], theirs.name: []}
    breakdowns: list[dict] = []
    last_ids: dict[str, str] = {}
    with requests.Session() as session:
        # Untimed warm-up: the first tasks after a start pay one-time costs on both sides.
        for _ in range(INFO_WARMUP):
            for bench in (ours, theirs):
                measure(bench, session)
        for index in range(tasks):
            for bench in (ours, theirs):
                measured = measure(bench, session)
                if measured is None:
                    continue
                latency, details = measured
                samples[bench.name].append(latency)
                last_ids[bench.name] = details.pop("task_id")
                if details:
                    breakdowns.append(details)
            if (index + 1) % 10 == 0:
                log(f"info latency: {index + 1}/{tasks} tasks on each side")
    baseline += baseline_extractions(url, INFO_EXTRACTIONS - len(baseline))
    service, original = summary(samples[ours.name]), summary(samples[theirs.name])
    return {
        "tasks": tasks,
        "poll_interval_s": INFO_POLL,
        "ours_s": service,
        "theirs_s": original,
        "ratio_p50": service["p50"] / original["p50"],
        "ratio_p90": service["p90"] / original["p90"],
        "breakdown_s": {phase: summary([b[phase] for b in breakdowns]) for phase in breakdowns[0]},
        "extract_info_s": summary(baseline),
        "samples_ours_s": samples[ours.name],
        "samples_theirs_s": samples[theirs.name],
        "breakdowns": breakdowns,
        "completed_task_ids": last_ids,
        "failed_polls": {bench.name: bench.failed_polls for bench in (ours, theirs)},
        "theirs_restarts": restarts,
    }


# --------------------------------------------------------------------------------------------
# scenario 2: status throughput (wrk)

WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
WRK_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, key: str, seconds: float, work: Path, session_id: int) -> dict:
    """`wrk` with STATUS_CONNECTIONS keep-alive connections on one URL; its figures, and the
    CPU the server's process session used meanwhile."""
    script = work / "wrk-key.lua"
    script.write_text(f'wrk.headers["X-API-Key"] = "{key}"\n')
    command = [
        WRK, f"-t{WRK_THREADS}", f"-c{STATUS_CONNECTIONS}", f"-d{seconds:g}s",
        "--latency", "-s", str(script), url,
    ]  # fmt: skip
    server_cpu = session_cpu_seconds(session_id)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    server_cpu = session_cpu_seconds(session_id) - server_cpu
    requests_done = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": requests_done,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
        "latency_ms": {
            f"p{p}": float(value) * WRK_UNITS_MS[unit]
            for p, value, unit in WRK_LATENCY.findall(output)
        },
        "server_cpu_ms_per_request": server_cpu * 1000 / max(requests_done, 1),
    }


def status_throughput(
    ours: Bench, theirs: Bench, task_ids: dict, seconds: float, rounds: int, work: Path
) -> dict:
    """wrk on `GET /status/<id>` of a completed get_info task of each service, alternating,
    `rounds` times; medians."""
    runs: dict[str, list[dict]] = {ours.name: [], theirs.name: []}
    for round_number in range(rounds):
        for bench in (ours, theirs):
            log(f"status throughput round {round_number + 1}/{rounds}: {bench.name}")
            url = f"{bench.base}/status/{task_ids[bench.name]}"
            runs[bench.name].append(run_wrk(url, bench.key, seconds, work, bench.server_session))

    def medians(results: list[dict]) -> dict:
        return {
            "rps": statistics.median(r["rps"] for r in results),
            "p50_ms": statistics.median(r["latency_ms"]["p50"] for r in results),
            "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in results),
            "cpu_ms_per_request": statistics.median(
                r["server_cpu_ms_per_request"] for r in results
            ),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "socket_errors": [r["socket_errors"] for r in results if r["socket_errors"]],
        }

    service, original = medians(runs[ours.name]), medians(runs[theirs.name])
    return {
        "connections": STATUS_CONNECTIONS,
        "seconds": seconds,
        "rounds": rounds,
        "ours": service,
        "theirs": original,
        "ratio_rps": service["rps"] / original["rps"],
        "ratio_p99": service["p99_ms"] / original["p99_ms"],
        "runs": runs,
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
        f"ours: gunicorn as gunicorn.conf.py runs it (2 workers), 1 qcluster with "
        f"MAX_WORKERS={MAX_WORKERS}, SQLite, broker: {meta['broker']}",
        "theirs: the original yt-dlp-host (Flask development server, JSON files), "
        "same machine, same media server",
        f"total bench time {meta['total_s']:.0f} s; 1-min load average (this run included) "
        "at start and after each scenario: "
        + ", ".join(f"{k} {v:.1f}" for k, v in meta["loadavg_1min"].items()),
    ]
    info = results.get("info_latency")
    if info:
        o, t, e = info["ours_s"], info["theirs_s"], info["extract_info_s"]
        lines += [
            "",
            f"[info latency] {info['tasks']} get_info tasks per service on the DASH manifest, "
            f"one client, closed loop, /status polled every "
            f"{info['poll_interval_s'] * 1000:.0f} ms; POST -> completed",
            f"  ours    p50 {o['p50']:.3f} s  p90 {o['p90']:.3f} s  max {o['max']:.3f} s",
            f"  theirs  p50 {t['p50']:.3f} s  p90 {t['p90']:.3f} s  max {t['max']:.3f} s",
            f"  ratio ours/theirs  p50 {info['ratio_p50']:.2f}x  p90 {info['ratio_p90']:.2f}x",
            "  ours, from the task rows (p50 / p90 / max, ms): "
            + ", ".join(
                f"{phase.removesuffix('_s').replace('_', ' ')} "
                f"{s['p50'] * 1000:.0f}/{s['p90'] * 1000:.0f}/{s['max'] * 1000:.0f}"
                for phase, s in info["breakdown_s"].items()
            ),
            f"  (extract_info in this process, for scale: p50 {e['p50']:.3f} s; /status "
            "answers other than 200 while polling: "
            + ", ".join(f"{name} {count}" for name, count in info["failed_polls"].items())
            + ")",
            f"  (theirs: its worker loop died {info['theirs_restarts']} time(s), a task each, "
            "left out of its figures; it was restarted)",
        ]
    status = results.get("status_throughput")
    if status:
        lines += [
            "",
            f"[status throughput] wrk, {status['connections']} connections, "
            f"{status['seconds']:g} s, {status['rounds']} round(s) alternating, medians; "
            "GET /status/<id> of a completed task",
        ]
        for name in ("ours", "theirs"):
            r = status[name]
            errors = f"non-2xx {r['non_2xx']}" + (
                f", socket errors {r['socket_errors']}" if r["socket_errors"] else ""
            )
            lines.append(
                f"  {name:7} {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                f"p99 {r['p99_ms']:6.1f} ms  server CPU {r['cpu_ms_per_request']:.2f} ms/req  "
                f"({errors})"
            )
        lines.append(
            f"  ratio ours/theirs  req/s {status['ratio_rps']:.2f}x  p99 {status['ratio_p99']:.2f}x"
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
