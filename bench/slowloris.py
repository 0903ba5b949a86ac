"""200 slow and stalled connections against the API's answers (issues 13 and 20).

Run from the repository root:

    .venv/bin/python bench/slowloris.py                # 200 connections of each kind, 10 s
    .venv/bin/python bench/slowloris.py --connections 500 --seconds 5 --kinds mixed

What it starts: as bench/waiters.py (a LiveStack with a key and a completed task), whose
completed file is grown to 64 MB (sparse) so that a non-reader never gets all of it.

What it measures: `wrk -t2 -c16` (bench/wrk.py) on `GET /status/<id>` without hostile
connections, then with --connections of each kind held open, then without again. The
kinds (tests/support/slow_clients.py): unfinished headers (a third connect and send
nothing, a third send the start of a request line, a third trickle headers one byte a
second: issue 13's slowloris), non-readers of the large file (which read the first few KB
of the answer, then nothing), stalled request bodies, and a mix of all five behaviours.
Each reconnects when the server drops it. During each attack `/me`, `/tasks`, a POST and
a Range GET of the file are asked once each (10 s patience), then the web workers' CPU is
read over 5 s with nothing but the attack running. Reported per kind: requests/s and p99
of /status and the web workers' CPU per answer, the other routes' answers, the CPU of
holding the connections (both whatever else loads the machine), the ratio with/without.
Issue 20's goal: /status p99 <= 50 ms with them, every other route answering.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from bench.waiters import ConnectionCrowd, bench_stack, ratio_line  # noqa: E402
from bench.wrk import describe, run_wrk  # noqa: E402
from tests.support import slow_clients  # noqa: E402

GOAL_P99_MS = 50.0
LARGE_FILE_BYTES = 64 * 1024 * 1024
TRICKLE = b"GET /status/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: " + b"a" * 4000
BEHAVIOURS = ("idle", "half-sent", "trickling", "non-reader", "stalled body")
KINDS = {
    "unfinished-headers": ("idle", "half-sent", "trickling"),
    "non-readers": ("non-reader",),
    "stalled-bodies": ("stalled body",),
    "mixed": BEHAVIOURS,
}


class Hostile(ConnectionCrowd):
    """Connections that each keep up one of `behaviours` (in turn), reconnecting when
    the server drops them."""

    def __init__(self, port: int, count: int, behaviours: tuple[str, ...], file_path: str):
        super().__init__(port, count)
        self.behaviours, self.file_path = behaviours, file_path
        self.dropped = 0

    def __enter__(self) -> Hostile:
        super().__enter__()
        # As bench/waiters.py: the answers the last non-readers were given fill their
        # buffers and park, so what is measured is holding them, not serving 200 requests.
        time.sleep(1.0)
        return self

    async def connection(self, index: int) -> None:
        behaviour = self.behaviours[index % len(self.behaviours)]
        loop = asyncio.get_running_loop()
        while True:
            connection = slow_clients.small_window_socket()
            connection.setblocking(False)
            ready = False
            try:
                await loop.sock_connect(connection, ("127.0.0.1", self.port))
                await self.begin(behaviour, connection)
                self.opened += 1
                ready = True
                await self.hold(behaviour, connection)
            except ConnectionError:
                pass
            finally:
                self.opened -= ready
                connection.close()
            self.dropped += 1

    async def begin(self, behaviour: str, connection: socket.socket) -> None:
        """Sends the behaviour's first bytes. A non-reader then reads the first piece of
        its answer, so the server has served its request before the measure starts."""
        loop = asyncio.get_running_loop()
        first_bytes = {
            "idle": b"",
            "half-sent": b"GET /status/",
            "non-reader": slow_clients.non_reader_request(self.file_path),
            "stalled body": slow_clients.STALLED_BODY,
        }.get(behaviour, b"")
        await loop.sock_sendall(connection, first_bytes)
        if behaviour == "non-reader":
            await loop.sock_recv(connection, slow_clients.RECEIVE_BUFFER)

    async def hold(self, behaviour: str, connection: socket.socket) -> None:
        """Returns when the server has dropped the connection."""
        loop = asyncio.get_running_loop()
        trickle = iter(TRICKLE if behaviour == "trickling" else b"")
        while not slow_clients.closed_by_server(connection):
            byte = next(trickle, None)
            if byte is not None:
                await loop.sock_sendall(connection, bytes([byte]))
            await asyncio.sleep(1.0)


def other_routes(bench, file_path: str) -> str:
    """Each other kind of request once, as a client with 10 s of patience sees it."""
    base, headers = bench.stack.base_url, {"X-API-Key": bench.key}
    asks = {
        "/me": lambda: requests.get(f"{base}/me", headers=headers, timeout=10),
        "/tasks": lambda: requests.get(f"{base}/tasks", headers=headers, timeout=10),
        "POST": lambda: requests.post(f"{base}/get_info", json={}, headers=headers, timeout=10),
        "Range": lambda: requests.get(
            f"{base}{file_path}", headers={"Range": "bytes=0-1023"}, timeout=10
        ),
    }
    seen = []
    for name, ask in asks.items():
        started = time.perf_counter()
        try:
            status = ask().status_code
        except requests.RequestException as error:
            status = type(error).__name__
        seen.append(f"{name} {status} in {(time.perf_counter() - started) * 1000:.0f} ms")
    return ", ".join(seen)


def web_workers_cpu_seconds(stack) -> float:
    """CPU time used so far by the stack's gunicorn workers (children of its processes)."""
    parents = {process.pid for process in stack.processes}
    total = 0
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # not a process, or one that just ended
        if int(fields[1]) in parents and b"gunicorn" in command:
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def held_cost(stack, seconds: float = 5.0) -> float:
    """The web workers' CPU seconds per second while nothing but the attack runs."""
    started = web_workers_cpu_seconds(stack)
    time.sleep(seconds)
    return (web_workers_cpu_seconds(stack) - started) / seconds


def measured(bench, seconds: float):
    """wrk on /status, and the web workers' CPU milliseconds per answered request meanwhile:
    what each answer costs the server, whatever else loads the machine."""
    url, headers = bench.status_url(bench.completed_id), {"X-API-Key": bench.key}
    started = web_workers_cpu_seconds(bench.stack)
    result = run_wrk(url, headers, seconds=seconds)
    spent = web_workers_cpu_seconds(bench.stack) - started
    return result, f"server CPU {spent * 1000 / max(result.requests, 1):.2f} ms/request"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args()

    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    with bench_stack("ytdlphost-slowloris-bench-", recordings=0) as bench:
        (path,) = bench.stack.task_files(bench.completed_id)
        os.truncate(path, LARGE_FILE_BYTES)
        file_path = f"/files/{bench.completed_id}/{path.name}"
        measured(bench, seconds=2)  # warm-up
        before, cost = measured(bench, args.seconds)
        print(f"without                    {describe(before)}  {cost}", flush=True)
        loaded = {}
        for kind in args.kinds:
            with Hostile(bench.stack.port, args.connections, KINDS[kind], file_path) as hostile:
                loaded[kind], cost = measured(bench, args.seconds)
                print(f"{hostile.opened:3} {kind:22} {describe(loaded[kind])}  {cost}", flush=True)
                routes = other_routes(bench, file_path)
                print(f"    other routes meanwhile: {routes}; dropped by the server: "
                      f"{hostile.dropped}; web workers' CPU while only they are held: "
                      f"{held_cost(bench.stack):.3f} s/s", flush=True)  # fmt: skip
        after, cost = measured(bench, args.seconds)
        print(f"without                    {describe(after)}  {cost}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    for kind, result in loaded.items():
        print(f"{kind}: p99 {result.p99_ms:.1f} ms (goal: <= {GOAL_P99_MS:g} ms), "
              f"errors {result.non_2xx + result.socket_errors}; "
              + ratio_line(f"{args.connections} {kind}", [before, after], result))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
