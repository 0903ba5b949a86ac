"""bench/scale_out.py's figures: the exactly-once accounting of its tasks, and the samplers
of the database's connections and of each process's memory.

The accounting is pure (rows, log text and webhook events in, verdicts out) so that
tests/bench/test_scale_out_figures.py can check it without a stack.
"""

from __future__ import annotations

import collections
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field

from bench.memory import process_tree, process_usage
from bench.service_client import percentile

# What a cluster logs when a run of a task ends (lifecycle.report_finished; a playlist:
# lifecycle.settle_playlist) and when a worker claims it (runner.py).
ENDED_LINE = re.compile(r" task (\S+) (completed|error): ")
CLAIMED_LINE = re.compile(r" task (\S+) processing: ")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def latency_figures(seconds: list[float]) -> dict:
    """n, p50, p99 and max of a list of latencies, in milliseconds (None when empty)."""
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "n": len(seconds),
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds) * 1000,
    }


def log_counts(log_texts: list[str]) -> tuple[collections.Counter, collections.Counter]:
    """(ends, claims) per task id, over every cluster's log: how often a run of each task
    ended (completed or failed) and how often a worker claimed it."""
    ends: collections.Counter = collections.Counter()
    claims: collections.Counter = collections.Counter()
    for text in log_texts:
        ends.update(match[1] for match in ENDED_LINE.finditer(text))
        claims.update(match[1] for match in CLAIMED_LINE.finditer(text))
    return ends, claims


def webhook_counts(events: list[tuple[str, str, str]]) -> dict[str, collections.Counter]:
    """Per task id, the distinct events announced, by type: `events` are (webhook-id, type,
    task id) as received. A delivery retried with the same webhook-id is one event (the
    receiver deduplicates on it, as docs/api.md tells receivers to); two webhook-ids for
    one task are two announcements."""
    distinct = {webhook_id: (kind, task_id) for webhook_id, kind, task_id in events}
    counts: dict[str, collections.Counter] = {}
    for kind, task_id in distinct.values():
        counts.setdefault(task_id, collections.Counter())[kind] += 1
    return counts


def exactly_once(
    submitted: list[str],
    rows: list[dict],
    log_texts: list[str],
    events: list[tuple[str, str, str]],
    expected_children: int,
) -> dict:
    """Every task completed exactly once, from three independent records:

    - the database: each row `completed`; its `attempts` (2 for a task a killed cluster
      was running, which recovery ran again: correct, and counted apart);
    - the clusters' logs: one "completed" end per task (a run the kill interrupted never
      logs an end; a second run that also ended would log a second one: doubled);
    - the webhook receiver: one `task.completed` event per top-level task (a playlist's
      entries send none, docs/api.md), none of another type.

    `submitted` are the ids the clients were answered (top-level tasks and playlists);
    `rows` every task row ({id, parent_id, status, attempts}); `expected_children` how
    many entries the playlists list. Lost: a submitted id without a row, a row not
    completed, fewer entries than expected; doubled: more than one end or event.
    """
    by_id = {row["id"]: row for row in rows}
    children = [row for row in rows if row["parent_id"]]
    top_level = [row for row in rows if not row["parent_id"]]
    ends, claims = log_counts(log_texts)
    announced = webhook_counts(events)

    missing_rows = [task_id for task_id in submitted if task_id not in by_id]
    not_completed = [row["id"] for row in rows if row["status"] != "completed"]
    log_ends = collections.Counter(ends.get(row["id"], 0) for row in rows)
    not_once_in_logs = [row["id"] for row in rows if ends.get(row["id"], 0) != 1]
    unannounced = [row["id"] for row in top_level if row["id"] not in announced]
    doubly_announced = [
        row["id"]
        for row in top_level
        if sum(announced.get(row["id"], {}).values()) > 1
        or set(announced.get(row["id"], {})) - {"task.completed"}
    ]
    attempts = collections.Counter(row["attempts"] for row in rows)
    claims_not_attempts = [
        row["id"] for row in children + top_level if claims.get(row["id"], 0) != row["attempts"]
    ]
    ok = not (
        missing_rows
        or not_completed
        or not_once_in_logs
        or unannounced
        or doubly_announced
        or len(children) != expected_children
        or set(submitted) != {row["id"] for row in top_level}
    )
    return {
        "ok": ok,
        "tasks": len(rows),
        "top_level": len(top_level),
        "children": len(children),
        "expected_children": expected_children,
        "submitted_without_row": missing_rows[:20],
        "not_completed": not_completed[:20],
        "not_completed_count": len(not_completed),
        "log_ends_per_task": {str(n): count for n, count in sorted(log_ends.items())},
        "not_once_in_logs": not_once_in_logs[:20],
        "webhook_unannounced": unannounced[:20],
        "webhook_unannounced_count": len(unannounced),
        "webhook_doubled_or_other": doubly_announced[:20],
        "attempts": {str(n): count for n, count in sorted(attempts.items())},
        # Claims beyond attempts would be two workers running one attempt.
        "claims_not_attempts": claims_not_attempts[:20],
    }


def drain_seconds(last_submission: float, finished_at: list[float]) -> float | None:
    """Seconds from the last submission's answer to the last task's end (epoch seconds,
    one clock: same machine)."""
    return max(finished_at) - last_submission if finished_at else None


# --------------------------------------------------------------------------------------------
# samplers


@dataclass
class Roots:
    """The processes to sample, by label ("web master", "web worker 1", "cluster 0"...),
    updated as clusters are killed and restarted."""

    pids: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, label: str, pid: int) -> None:
        with self.lock:
            self.pids[label] = pid

    def drop(self, label: str) -> None:
        with self.lock:
            self.pids.pop(label, None)

    def items(self) -> list[tuple[str, int]]:
        with self.lock:
            return list(self.pids.items())


def cpu_seconds(pid: int) -> float:
    """The process's CPU time and that of its ended children it waited for (utime, stime,
    cutime, cstime), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def tree_usage(root: int, alone: bool = False) -> dict:
    """RSS and PSS (bytes) summed over `root` and its descendants (only `root` when
    `alone`), how many processes that was, and their CPU seconds (ended descendants
    included once waited for)."""
    total = {"rss": 0, "pss": 0, "processes": 0, "cpu_s": 0.0}
    for pid in [root] if alone else process_tree(root):
        usage = process_usage(pid)
        if usage is not None:
            total["rss"] += usage.rss
            total["pss"] += usage.pss
            total["processes"] += 1
            total["cpu_s"] += cpu_seconds(pid)
    return total


class Sampler:
    """Every `every` seconds, in a thread: the database's connections (pg_stat_activity,
    by state, without the sampler's own), each root's memory with its children (the web
    master alone: its workers are roots of their own), and the 1-minute load average.
    Keeps the peaks, and the connections' time series."""

    def __init__(self, database_url: str, database: str, roots: Roots, every: float = 0.5):
        self.database_url, self.database = database_url, database
        self.roots, self.every = roots, every
        self.connections: list[tuple[float, dict[str, int]]] = []
        self.memory_peaks: dict[str, dict] = {}
        self.load = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="Sampler", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> Sampler:
        self._stop.set()
        self._thread.join()
        return self

    def _run(self) -> None:
        import psycopg

        query = (
            "SELECT coalesce(state, 'none'), count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() GROUP BY 1"
        )
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self._stop.is_set():
                states = dict(connection.execute(query, [self.database]).fetchall())
                self.connections.append((time.time(), states))
                for label, pid in self.roots.items():
                    usage = tree_usage(pid, alone=label == "web master")
                    peak = self.memory_peaks.setdefault(label, {"rss": 0, "pss": 0})
                    for measure in ("rss", "pss"):
                        peak[measure] = max(peak[measure], usage[measure])
                    peak["processes"] = max(peak.get("processes", 0), usage["processes"])
                    # Grows while the process lives: its last sample is its whole run's.
                    peak["cpu_s"] = max(peak.get("cpu_s", 0.0), usage["cpu_s"])
                self.load.append(os.getloadavg()[0])
                self._stop.wait(self.every)

    def figures(self) -> dict:
        totals = [sum(states.values()) for _, states in self.connections]
        by_state: dict[str, int] = {}
        for _, states in self.connections:
            for state, count in states.items():
                by_state[state] = max(by_state.get(state, 0), count)
        return {
            "connections_peak": max(totals, default=0),
            "connections_median": sorted(totals)[len(totals) // 2] if totals else 0,
            "connections_peak_by_state": by_state,
            "samples": len(totals),
            "memory_peaks": self.memory_peaks,
            "load_1min": {"min": min(self.load), "max": max(self.load)},
        }


def read_events(received) -> list[tuple[str, str, str]]:
    """(webhook-id, type, task id) of each request a tests/support/webhooks.Receiver got."""
    events = []
    for request in received:
        headers = {name.lower(): value for name, value in request.headers.items()}
        body = json.loads(request.body)
        events.append((headers.get("webhook-id", ""), body["type"], body["data"]["task_id"]))
    return events
