"""The scale-out profile under load (issue 26): PostgreSQL + Redis, three `qcluster`
processes and two web processes, 2,000 tasks from 50 clients while 200 pollers watch
`/status` and 50 long-pollers `/tasks?wait=`, a third of the tasks playlists' entries, and
one cluster SIGKILLed with everything it started, then restarted, mid-run.

    eval "$(scripts/test-services.sh env)"           # PostgreSQL and Redis (or `start`)
    .venv/bin/python bench/scale_out.py              # the full run, a few minutes
    .venv/bin/python bench/scale_out.py --tasks 200 --clients 10 --pollers 40 --long-pollers 10

What runs: a fresh PostgreSQL database and Redis database 15 (tests/support/backends.py;
the test modules use 1-3), a LiveStack (tests/support/stack.py) with `clusters=3` (each
`manage.py qcluster`, MAX_WORKERS workers) and gunicorn as gunicorn.conf.py runs it with
WEB_WORKERS=2, and two MediaServers: one of the test media (tests/support/media_files.py),
one of a 2-second 160x90 progressive MP4 (generated with ffmpeg into the run's directory:
the tasks are about the service, not the media) and the playlists' pages
(tests/support/playlists.py, the pages the playlist tests build).

The load: one key per client (50 keys: 50 users of one service; each key's
MAX_TASKS_PER_KEY is set to every worker of the three clusters and REQUEST_LIMIT to more
than a key asks, so neither fairness cap holds a task back: the run measures the service).
A third of `--tasks` are entries of playlists (`POST /get_playlist`, type video, pages of
`--entries` entries of the clip: each entry a get_video, yt-dlp's own download of the file,
nothing converted), the rest `POST /get_info` of the test media's DASH manifest (yt-dlp
reads the manifest alone; no ffprobe, which a direct file costs). Every URL carries its
own query string. Each key has a default webhook URL (a tests/support/webhooks.Receiver),
so every top-level task and playlist announces its end. The clients run in
`--client-processes` processes (bench/scale_out_clients.py).

The kill: when `--kill-at` of the tasks have ended, cluster 0 is SIGKILLed with every
process it started (LiveStack.kill_cluster: its workers, their task children), and started
again `--restart-after` seconds later on the same log. Its interrupted tasks are run again
by recovery (attempts 2): correct, and counted apart.

Reported (and written to bench/results/scale_out.json, gitignored): every task completed
exactly once (bench/scale_out_figures.exactly_once: the rows, the clusters' logs of each
run's end, the webhooks), every answer by route and status (5xx must be 0), the drain
(last submission answered -> last task ended, from the rows' finished_at), `/status`
p50/p99 as the pollers saw it, submission p50/p99, the peak of `pg_stat_activity` for the
database (sampled every 0.5 s), each process's peak memory with its children (RSS and
PSS: forks share pages, so summed RSS overcounts), and the 1-minute load average. The run
exits 1 when a task was not completed exactly once, or on any 5xx.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.scale_out_clients import Client, ClientProcess, merge  # noqa: E402
from bench.scale_out_figures import (  # noqa: E402
    Roots,
    Sampler,
    drain_seconds,
    exactly_once,
    latency_figures,
    read_events,
)
from bench.scale_out_report import report_text  # noqa: E402
from bench.service_client import log, stop_stack  # noqa: E402
from tests.support.backends import fresh_postgres_and_redis  # noqa: E402
from tests.support.media_files import FFMPEG, generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.playlists import write_page  # noqa: E402
from tests.support.processes import descendants  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402
from tests.support.webhooks import Receiver  # noqa: E402

RESULTS_PATH = REPO / "bench" / "results" / "scale_out.json"
REDIS_DB = 15
CLIP = "clip.mp4"
PERMISSIONS = ["get_video", "get_info"]


def make_clip(directory: Path) -> None:
    """A 2-second 160x90 H.264/AAC MP4 with its index first (~25 KB)."""
    subprocess.run(
        [
            FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=2",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k",
            "-movflags", "+faststart", "-shortest", str(directory / CLIP),
        ],
        check=True,
    )  # fmt: skip


def plan(tasks: int, clients: int, entries: int, media: MediaServer, test_media: MediaServer):
    """Each client's jobs, shuffled, and how many playlist entries they add up to: a third
    of `tasks` (rounded to whole playlists) are entries, the rest get_info tasks."""
    playlists = round(tasks / 3 / entries)
    jobs: list[tuple[str, dict]] = []
    for number in range(playlists):
        sources = [media.url(f"{CLIP}?p={number}-{entry}") for entry in range(entries)]
        name = write_page(media.root, f"playlist-{number}.html", f"Playlist {number}", sources)
        jobs.append(("/get_playlist", {"url": media.url(name), "type": "video"}))
    for number in range(tasks - playlists * entries):
        jobs.append(("/get_info", {"url": test_media.url(f"dash/manifest.mpd?n={number}")}))
    random.Random(26).shuffle(jobs)
    return [jobs[index::clients] for index in range(clients)], playlists * entries


def database_rows(database_url: str) -> list[dict]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as connection:
        return connection.execute(
            "SELECT id, parent_id, task_type, status, attempts, created_at, started_at,"
            " finished_at FROM downloads_app_task"
        ).fetchall()


def progress(database_url: str) -> tuple[int, int]:
    """(tasks ended, playlists' entries included, playlists not; tasks and playlists not
    ended) now."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        ended, unended = connection.execute(
            "SELECT count(*) FILTER (WHERE status IN ('completed', 'error')"
            " AND task_type <> 'get_playlist'),"
            " count(*) FILTER (WHERE status NOT IN ('completed', 'error'))"
            " FROM downloads_app_task"
        ).fetchone()
    return ended, unended


def processing_on(database_url: str, pids: set[int]) -> int:
    """How many tasks are being run by a worker among `pids` (not the playlists it listed,
    which stay `processing` until their entries end, and name the worker that listed
    them)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        workers = connection.execute(
            "SELECT worker FROM downloads_app_task"
            " WHERE status = 'processing' AND expanded_at IS NULL"
        ).fetchall()
    return sum(1 for (worker,) in workers if int(worker.rpartition(":")[2] or 0) in pids)


def cluster_processes(stack: LiveStack) -> list:
    return [p for p in stack.processes if "qcluster" in p.args]


def web_roots(stack: LiveStack, roots: Roots) -> None:
    master = next(p.pid for p in stack.processes if "gunicorn" in str(p.args[0]))
    roots.set("web master", master)
    for number, pid in enumerate(sorted(descendants(master)), 1):
        roots.set(f"web worker {number}", pid)


def run(args) -> dict:
    results: dict = {
        "meta": {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "argv": sys.argv[1:],
            "cores": os.cpu_count(),
            "load_1min_start": os.getloadavg()[0],
        },
        "settings": vars(args),
    }
    with tempfile.TemporaryDirectory(prefix="ytdlphost-scale-out-") as tmp, (
        fresh_postgres_and_redis(redis_db=REDIS_DB)
    ) as backends:  # fmt: skip
        work = Path(tmp)
        (work / "media").mkdir()
        make_clip(work / "media")
        workers = args.clusters * args.max_workers
        env = {
            **backends,
            "MAX_WORKERS": str(args.max_workers),
            "MAX_TASKS_PER_KEY": str(workers),
            "REQUEST_LIMIT": "1000000",
            # Rows kept to the end (a day): the accounting reads every one of them.
            "TASK_CLEANUP_TIME": "1440",
            "LOG_LEVEL": "INFO",  # each run's end, in each cluster's log
        }
        receiver = Receiver().start()
        generate_media(MEDIA_CACHE_DIR)
        with MediaServer(work / "media") as media, MediaServer(MEDIA_CACHE_DIR) as test_media:
            per_client, expected_children = plan(
                args.tasks, args.clients, args.entries, media, test_media
            )
            stack = LiveStack(
                work / "data", web_workers=args.web_workers, clusters=args.clusters, env=env
            )
            log(f"starting {args.clusters} clusters and gunicorn with {args.web_workers} workers")
            stack.start()
            try:
                results.update(load(args, stack, backends, receiver, per_client, work))
                rows = database_rows(backends["DATABASE_URL"])
                logs = [
                    stack.cluster_log(i).read_text(errors="replace") for i in range(args.clusters)
                ]
                results["exactly_once"] = exactly_once(
                    results.pop("submitted"), rows, logs, read_events(receiver.received),
                    expected_children,
                )  # fmt: skip
                results["task_seconds"] = worker_seconds(rows)
                results["waits"] = waits(rows)
                finished = [row["finished_at"].timestamp() for row in rows if row["finished_at"]]
                results["drain_s"] = drain_seconds(results["last_submission"], finished)
            finally:
                stop_stack(stack)
                receiver.stop()
    results["meta"]["load_1min_end"] = os.getloadavg()[0]
    return results


def worker_seconds(rows: list[dict]) -> dict:
    """started -> finished of the entries and the get_video tasks (their last run)."""
    runs = [
        (row["finished_at"] - row["started_at"]).total_seconds()
        for row in rows
        if row["task_type"] != "get_playlist" and row["started_at"] and row["finished_at"]
    ]
    figures = latency_figures(runs)
    return {f"{name}_s": figures[f"{name}_ms"] / 1000 for name in ("p50", "p99", "max")}


def waits(rows: list[dict]) -> dict:
    """created -> started (its last run) of every task: a task whose queue message was
    lost waits until maintenance queues it again."""
    seconds = [
        (row["started_at"] - row["created_at"]).total_seconds() for row in rows if row["started_at"]
    ]
    figures = latency_figures(seconds)
    return {
        **{f"{name}_s": figures[f"{name}_ms"] / 1000 for name in ("p50", "p99", "max")},
        "over_60_s": sum(1 for value in seconds if value > 60),
    }


def load(args, stack, backends, receiver, per_client, work: Path) -> dict:
    database_url = backends["DATABASE_URL"]
    keys = [
        stack.create_key(
            f"client-{n}", PERMISSIONS, request_limit=1000000, webhook_url=receiver.url
        )
        for n in range(args.clients)
    ]
    clients = [
        Client(
            key,
            jobs,
            pollers=args.pollers // args.clients + (n < args.pollers % args.clients),
            long_pollers=args.long_pollers // args.clients + (n < args.long_pollers % args.clients),
        )
        for n, (key, jobs) in enumerate(zip(keys, per_client, strict=True))
    ]
    roots = Roots()
    web_roots(stack, roots)
    for number, cluster in enumerate(cluster_processes(stack)):
        roots.set(f"cluster {number}", cluster.pid)
    sampler = Sampler(database_url, urlsplit(database_url).path[1:], roots).start()
    shares = [clients[n :: args.client_processes] for n in range(args.client_processes)]
    processes = [
        ClientProcess(stack.base_url, share, args.poll_interval, work / f"clients-{n}.json")
        for n, share in enumerate(shares)
    ]
    log(f"load: {args.tasks} tasks, {args.clients} clients, {args.client_processes} processes")
    began = time.time()
    for process in processes:
        process.start()
    kill: dict = {}
    total = sum(len(jobs) for jobs in per_client)
    expected_tasks = args.tasks
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        ended, unended = progress(database_url)
        if not kill and ended >= args.kill_at * expected_tasks:
            kill = kill_and_restart(stack, roots, database_url, args.restart_after, began)
            log(f"killed cluster 0 after {ended} tasks ended: {kill}")
        submitted = all(p.submitters_done.value == len(p.clients) for p in processes)
        if submitted and ended >= expected_tasks and not unended:
            break
    else:
        log(f"timeout: {unended} tasks not ended after {args.timeout} s")
    drained = time.time()
    log("drained; stopping the clients (long polls end within 25 s)")
    for process in processes:
        process.stop.set()
    seen = merge([process.result() for process in processes])
    # The last events go out once their tasks' ends are committed: wait for them.
    top_level = len(seen["submitted"])
    give_up = time.monotonic() + 60
    while len({e[0] for e in read_events(receiver.received)}) < top_level:
        if time.monotonic() > give_up:
            break
        time.sleep(0.5)
    sampler.stop()
    answers = seen["answers"]
    return {
        "jobs": total,
        "elapsed_s": drained - began,
        "last_submission": seen["last_submission"],
        "submissions_s": seen["last_submission"] - began,
        "submitted": seen["submitted"],
        "answers": dict(sorted(answers.items())),
        "server_errors": sum(n for k, n in answers.items() if int(k.rsplit(" ", 1)[1]) >= 500),
        "client_errors": dict(seen["errors"]),
        "status": latency_figures(seen["status_seconds"]),
        "submit": latency_figures(seen["submit_seconds"]),
        "kill": kill,
        "samples": sampler.figures(),
    }


def kill_and_restart(stack, roots, database_url, restart_after: float, began: float) -> dict:
    cluster = cluster_processes(stack)[0]
    pids = {cluster.pid, *descendants(cluster.pid)}
    running = processing_on(database_url, pids)
    killed = time.time()
    stack.kill_cluster(cluster)
    roots.drop("cluster 0")
    time.sleep(restart_after)
    restarted = stack.start_cluster(stack.cluster_log(0))
    roots.set("cluster 0 (restarted)", restarted.pid)
    return {"at_s": killed - began, "processes": len(pids), "tasks_running": running}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50, help="one key each")
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--long-pollers", type=int, default=50)
    parser.add_argument("--entries", type=int, default=5, help="entries of each playlist")
    parser.add_argument("--clusters", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--max-workers", type=int, default=4, help="of each cluster")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds, a poller")
    parser.add_argument("--kill-at", type=float, default=0.4, help="fraction of tasks ended")
    parser.add_argument("--restart-after", type=float, default=3.0, help="seconds")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds, the whole load")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = parser.parse_args()
    if not (os.environ.get("TEST_POSTGRES_URL") and os.environ.get("TEST_REDIS_URL")):
        parser.error('needs TEST_POSTGRES_URL: eval "$(scripts/test-services.sh env)"')
    results = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(report_text(results))
    failed = not results["exactly_once"]["ok"] or results["server_errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
