"""bench/run.py's scenario 1, info latency: one client in a closed loop, get_info tasks
alternating between ours and the original service; run.py's docstring describes the
measurement.
"""

from __future__ import annotations

import time

import requests
import yt_dlp

from bench.baseline import OriginalService
from bench.service_client import INFO_POLL, Bench, Stalled, log, one_info_task, summary

# Per service; each side also gets INFO_WARMUP untimed tasks first.
INFO_TASKS = 40
QUICK_INFO_TASKS = 20
INFO_WARMUP = 4
# The original service's worker loop looks for waiting tasks once a second: a task still
# waiting after this long means that loop died; the service is restarted at most so often.
THEIRS_STALLED_AFTER = 5.0
THEIRS_MAX_RESTARTS = 5
# In-process extract_info calls, for scale: half before the services' tasks, half after.
INFO_EXTRACTIONS = 10


def baseline_extractions(url: str, count: int) -> list[float]:
    """Seconds of `count` in-process extract_info calls, each with a new YoutubeDL."""
    options = {"quiet": True, "no_warnings": True, "noprogress": True, "cachedir": False}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        yt_dlp.YoutubeDL(options).extract_info(url, download=False)
        times.append(time.perf_counter() - started)
    return times


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
