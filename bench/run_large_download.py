"""bench/run.py's scenario 3, the large download (ours only): the ~400 MB progressive MP4
(made once with ffmpeg, cached in .cache/bench-media/), fetched by the yt-dlp CLI and by the
service, alternating; run.py's docstring describes the measurement.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench.service_client import MEDIA_CACHE_DIR, VENV_BIN, Bench, log
from tests.support.media_files import FFMPEG
from tests.support.media_server import MediaServer
from tests.support.stack import REPO

BENCH_MEDIA_DIR = REPO / ".cache" / "bench-media"
DOWNLOAD_POLL = 0.1


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
