"""Resident memory of one worker cluster running a large download, a conversion and a
live recording at the same time.

Run from the repository root:

    .venv/bin/python bench/memory.py             # one run, about a minute and a half
    .venv/bin/python bench/memory.py --runs 3    # three runs, each on a fresh stack; medians

"One worker" is one `manage.py qcluster` with its processes: the main process, django-q2's
sentinel, pusher, monitor and scheduler, MAX_WORKERS=3 worker processes, the child each
worker forks for a task (supervisor.py: yt-dlp, the egress relay) and the ffmpeg processes
those start. The web processes (gunicorn) are not counted. MAX_TASKS_PER_KEY=3, so that the
three tasks of the bench's key run at once.

Each run starts a LiveStack (tests/support/stack.py) on a fresh DATA_DIR and, at the same
moment, submits:

- download:   POST /get_video of a ~400 MB progressive MP4 (ensure_large_file of
              bench/run_large_download.py, cached in .cache/bench-media/), output_format
              mp4: yt-dlp's own HTTP downloader, then no conversion (it is one already);
- conversion: POST /get_video of the ten-minute HLS VOD of the test media
              (live/source.m3u8: 600 segments, 160x90) with output_format webm: fetched by
              yt-dlp's native HLS downloader, then re-encoded to VP9 + Opus by ffmpeg;
- live:       POST /get_live_video of the emulated live stream, duration 30 s: ffmpeg
              records through the egress relay.

A sampler reads, every 0.2 s, the cluster's whole process tree from /proc: VmRSS from
/proc/<pid>/status, and Pss from /proc/<pid>/smaps_rollup (forked processes share most of
their pages, so summing RSS counts those several times; PSS divides each shared page among
its sharers and sums to what the tree really holds). Reported per run: the peak of the
tree's total RSS and PSS (summed at one sample), the peak of each role's sum, and when each
task ran. Baselines from the same run:

- the idle cluster just before the tasks (median of 2 s of samples): the ratio peak/idle;
- the yt-dlp CLI downloading the same 400 MB file alone (`yt-dlp -q -o ...`, its process
  tree sampled the same way), run before the stack starts: what the download costs
  without the service around it.

The machine is shared and memory figures vary less than times, but the live recording and
the conversion do depend on CPU: check that the tasks' intervals overlap (printed). The
report is printed and written as JSON to bench/results/memory.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.run_large_download import ensure_large_file  # noqa: E402
from bench.service_client import (  # noqa: E402
    MEDIA_CACHE_DIR,
    VENV_BIN,
    create_bench_key,
    log,
    stop_stack,
)
from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.processes import process_stats  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

RESULTS_PATH = REPO / "bench" / "results" / "memory.json"
SAMPLE_EVERY = 0.2  # seconds
LARGE_FILE_MB = 400
LIVE_SECONDS = 30
STACK_ENV = {"MAX_WORKERS": "3", "MAX_TASKS_PER_KEY": "3", "REQUEST_LIMIT": "100000"}
MB = 1024 * 1024


# --------------------------------------------------------------------------------------------
# reading /proc


def parent_pids() -> dict[int, int]:
    """Every process's parent, by pid."""
    return {pid: int(fields[1]) for pid, fields in process_stats()}


def process_tree(root: int) -> dict[int, int]:
    """The pids of `root` and its descendants, each with its depth below root."""
    children: dict[int, list[int]] = {}
    for pid, parent in parent_pids().items():
        children.setdefault(parent, []).append(pid)
    depths, pending = {root: 0}, [root]
    while pending:
        pid = pending.pop()
        for child in children.get(pid, []):
            depths[child] = depths[pid] + 1
            pending.append(child)
    return depths


def kilobytes(path: str) -> dict[str, int]:
    """The `Name:   123 kB` lines of a /proc file, in kB by name ({} when it is gone)."""
    found = {}
    try:
        with open(path) as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                if rest.endswith(" kB\n"):
                    found[name] = int(rest.split()[0])
    except OSError:
        return {}
    return found


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return ""


@dataclass
class Usage:
    rss: int = 0  # bytes
    pss: int = 0
    uss: int = 0  # private pages only: what ending the process would free
    processes: int = 0

    def add(self, other: Usage) -> None:
        self.rss += other.rss
        self.pss += other.pss
        self.uss += other.uss
        self.processes += other.processes

    def keep_peak(self, other: Usage) -> None:
        self.rss, self.pss = max(self.rss, other.rss), max(self.pss, other.pss)
        self.uss = max(self.uss, other.uss)
        self.processes = max(self.processes, other.processes)


def process_usage(pid: int) -> Usage | None:
    """The process's memory now; None when it has ended (or is a kernel thread)."""
    status = kilobytes(f"/proc/{pid}/status")
    if "VmRSS" not in status:
        return None
    rollup = kilobytes(f"/proc/{pid}/smaps_rollup")
    private = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    return Usage(status["VmRSS"] * 1024, rollup.get("Pss", 0) * 1024, private * 1024, 1)


def role_of(depth: int, name: str) -> str:
    """What a process of the cluster's tree is, from its depth and command name: the main
    process (0), the sentinel (1), the sentinel's workers, pusher, monitor and scheduler
    (2), the task children the workers fork (3), and what those start (ffmpeg)."""
    if name in ("ffmpeg", "ffprobe"):
        return "ffmpeg"
    if depth <= 1:
        return "cluster main + sentinel"
    if depth == 2:
        return "workers, pusher, monitor"
    return "task children (yt-dlp)"


def sample(root: int, classify=role_of, each=None) -> dict[str, Usage]:
    """The tree's memory now, by role, with the total under "total"; `each(pid, role,
    usage)` is called for every process."""
    usage: dict[str, Usage] = {"total": Usage()}
    for pid, depth in process_tree(root).items():
        process = process_usage(pid)
        if process is None:
            continue
        role = classify(depth, command_name(pid))
        usage["total"].add(process)
        usage.setdefault(role, Usage()).add(process)
        if each is not None:
            each(pid, role, process)
    return usage


@dataclass
class Sampler:
    """Samples a process tree every SAMPLE_EVERY seconds in a thread; keeps each role's
    peak (the largest sum seen in one sample) and the total's."""

    root: int
    classify: object = role_of
    peaks: dict[str, Usage] = field(default_factory=dict)
    # Each process's own peak, by "<pid> <role>": where a large figure comes from.
    process_peaks: dict[str, Usage] = field(default_factory=dict)
    totals: list[Usage] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="Sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Sampler:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self

    def _keep_process_peak(self, pid: int, role: str, usage: Usage) -> None:
        self.process_peaks.setdefault(f"{pid} {role}", Usage()).keep_peak(usage)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = sample(self.root, self.classify, self._keep_process_peak)
            self.totals.append(now["total"])
            for role, usage in now.items():
                self.peaks.setdefault(role, Usage()).keep_peak(usage)
            self._stop.wait(SAMPLE_EVERY)


# --------------------------------------------------------------------------------------------
# one run


def cli_download(url: str, work: Path) -> Usage:
    """Peak memory of the yt-dlp CLI downloading `url` alone."""
    out = work / "cli"
    out.mkdir()
    process = subprocess.Popen(
        [str(VENV_BIN / "yt-dlp"), "-q", "-o", str(out / "cli.%(ext)s"), url]
    )
    sampler = Sampler(process.pid, classify=lambda depth, name: "yt-dlp CLI").start()
    process.wait()
    sampler.stop()
    for produced in out.iterdir():
        produced.unlink()
    if process.returncode:
        raise RuntimeError(f"yt-dlp exited with code {process.returncode}")
    return sampler.peaks["total"]


def idle_usage(root: int, seconds: float = 2.0) -> Usage:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(sample(root)["total"])
        time.sleep(SAMPLE_EVERY)
    return Usage(
        rss=int(statistics.median(s.rss for s in samples)),
        pss=int(statistics.median(s.pss for s in samples)),
        uss=int(statistics.median(s.uss for s in samples)),
        processes=int(statistics.median(s.processes for s in samples)),
    )


def cluster_pid(stack: LiveStack) -> int:
    return next(p.pid for p in stack.processes if "qcluster" in p.args)


def run_once(large_url: str, media: MediaServer, work: Path) -> dict:
    log("baseline: the yt-dlp CLI downloading the large file alone")
    cli = cli_download(large_url, work)
    stack = LiveStack(work / "data", env=STACK_ENV)
    try:
        log("starting the stack (MAX_WORKERS=3)")
        stack.start()
        key = create_bench_key(stack)
        time.sleep(3)  # the cluster's processes settle after their start
        root = cluster_pid(stack)
        idle = idle_usage(root)
        sampler = Sampler(root).start()
        bodies = {
            "download": ("/get_video", {"url": large_url, "output_format": "mp4"}),
            "conversion": (
                "/get_video", {"url": media.url("live/source.m3u8"), "output_format": "webm"}
            ),
            "live": (
                "/get_live_video",
                {"url": media.url("live/index.m3u8"), "duration": LIVE_SECONDS},
            ),
        }  # fmt: skip
        log("running the download, the conversion and the live recording at once")
        task_ids = {name: stack.submit(key, *request) for name, request in bodies.items()}
        statuses = {name: stack.wait_for(task_id, key, 600) for name, task_id in task_ids.items()}
        sampler.stop()
    finally:
        stop_stack(stack)
    for name, status in statuses.items():
        if status["status"] != "completed":
            raise RuntimeError(f"the {name} task failed: {status.get('error')}")
    return {
        "cli": cli,
        "idle": idle,
        "peaks": sampler.peaks,
        "process_peaks": sampler.process_peaks,
        "samples": len(sampler.totals),
        "tasks": {
            name: {key: status[key] for key in ("started_at", "finished_at", "file_size")}
            for name, status in statuses.items()
        },
    }


# --------------------------------------------------------------------------------------------
# report


def megabytes(value: int) -> str:
    return f"{value / MB:7.1f}"


def figures(usage: Usage) -> str:
    sizes = " ".join(megabytes(value) for value in (usage.rss, usage.pss, usage.uss))
    return f"{sizes}  {usage.processes}"


def overlap_seconds(tasks: dict) -> float:
    """How long all three tasks ran at the same time."""
    starts = [
        datetime.fromisoformat(t["started_at"].replace("Z", "+00:00")) for t in tasks.values()
    ]
    ends = [datetime.fromisoformat(t["finished_at"].replace("Z", "+00:00")) for t in tasks.values()]
    return max(0.0, (min(ends) - max(starts)).total_seconds())


def report(runs: list[dict]) -> str:
    lines = []
    for number, run in enumerate(runs, 1):
        peaks, idle, cli = run["peaks"], run["idle"], run["cli"]
        total = peaks["total"]
        lines.append(
            f"run {number}: {run['samples']} samples; all three tasks ran together for "
            f"{overlap_seconds(run['tasks']):.1f} s"
        )
        for name, task in run["tasks"].items():
            lines.append(f"  {name:11} {task['started_at']} -> {task['finished_at']}")
        lines.append(f"  {'':32} {'RSS MB':>7} {'PSS MB':>7} {'USS MB':>7}  processes")
        for role in sorted(peaks, key=lambda r: (r == "total", r)):
            lines.append(f"  peak {role:27} {figures(peaks[role])}")
        lines.append(f"  idle cluster (baseline)         {figures(idle)}")
        lines.append(f"  yt-dlp CLI, same download alone {figures(cli)}")
        largest = sorted(run["process_peaks"].items(), key=lambda item: -item[1].uss)[:5]
        lines.append("  largest private memory (USS) of one process:")
        for name, usage in largest:
            lines.append(f"    {name:35}{figures(usage)}")
        lines.append(
            f"  peak / idle: RSS {total.rss / idle.rss:.2f}x, PSS {total.pss / idle.pss:.2f}x; "
            f"(peak - idle) / CLI PSS: {(total.pss - idle.pss) / cli.pss:.2f}x"
        )
    if len(runs) > 1:
        median = {
            "rss": statistics.median(r["peaks"]["total"].rss for r in runs),
            "pss": statistics.median(r["peaks"]["total"].pss for r in runs),
            "idle_pss": statistics.median(r["idle"].pss for r in runs),
        }
        lines.append(
            f"median of {len(runs)} runs: peak {median['rss'] / MB:.0f} MB RSS / "
            f"{median['pss'] / MB:.0f} MB PSS (idle cluster {median['idle_pss'] / MB:.0f} MB PSS)"
        )
    return "\n".join(lines)


def as_json(value):
    if isinstance(value, Usage):
        return {
            "rss_bytes": value.rss, "pss_bytes": value.pss, "uss_bytes": value.uss,
            "processes": value.processes,
        }  # fmt: skip
    raise TypeError(type(value).__name__)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1, help="runs, each on a fresh stack")
    args = parser.parse_args()
    generate_media(MEDIA_CACHE_DIR)
    large = ensure_large_file(LARGE_FILE_MB)
    runs = []
    with (
        MediaServer(large.parent) as large_server,
        MediaServer(MEDIA_CACHE_DIR) as media,
    ):
        for number in range(args.runs):
            log(f"run {number + 1}/{args.runs}")
            with tempfile.TemporaryDirectory(prefix="ytdlphost-memory-") as work:
                runs.append(run_once(large_server.url(large.name), media, Path(work)))
    text = report(runs)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(
        json.dumps({"runs": runs, "report": text}, default=as_json, indent=2) + "\n"
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
