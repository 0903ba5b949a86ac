"""200 idle and slow connections against the API's answers (issue 13).

Run from the repository root:

    .venv/bin/python bench/slowloris.py                # 200 connections, 3 x 10 s
    .venv/bin/python bench/slowloris.py --connections 500 --seconds 5

What it starts: as bench/waiters.py (a LiveStack with a key and a completed task).

What it measures: `wrk -t2 -c16` (bench/wrk.py) on `GET /status/<id>` three times:
without, with --connections hostile connections held open, and without again. Of those
connections a third connect and send nothing, a third send the start of a request line
and stop, and a third trickle a request's headers one byte a second and never end them
(slowloris), each reconnecting if the server closes it. Reported: requests/s and p99 of each
run, how many hostile connections were open at the end, and the ratio with/without.
Issue 13's goal: with 200 such connections /status is still answered, p99 at most 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.waiters import ConnectionCrowd, bench_stack, ratio_line  # noqa: E402
from bench.wrk import describe, run_wrk  # noqa: E402

GOAL_P99_MS = 1000.0
TRICKLE = b"GET /status/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: " + b"a" * 4000


class Hostile(ConnectionCrowd):
    """Idle, stalled and trickling connections: a third of each."""

    def __init__(self, port: int, count: int):
        super().__init__(port, count)
        self.reconnects = 0

    async def connection(self, index: int) -> None:
        await self.hold(index % 3)

    async def hold(self, kind: int) -> None:
        while True:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.opened += 1
            try:
                if kind == 1:
                    writer.write(b"GET /status/")
                for byte in TRICKLE if kind == 2 else b"":
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(1.0)
                await asyncio.sleep(3600)
            except ConnectionError:
                self.reconnects += 1
            finally:
                self.opened -= 1
                writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    with bench_stack("ytdlphost-slowloris-bench-", recordings=0) as bench:
        url, headers = bench.status_url(bench.completed_id), {"X-API-Key": bench.key}
        run_wrk(url, headers, seconds=2)  # warm-up
        before = run_wrk(url, headers, seconds=args.seconds)
        print(f"without            {describe(before)}", flush=True)
        with Hostile(bench.stack.port, args.connections) as hostile:
            loaded = run_wrk(url, headers, seconds=args.seconds)
            print(f"with {hostile.opened} hostile {describe(loaded)}", flush=True)
            still_open, reconnects = hostile.opened, hostile.reconnects
        after = run_wrk(url, headers, seconds=args.seconds)
        print(f"without            {describe(after)}")
    print(f"hostile connections open at the end: {still_open}, reconnected: {reconnects}")
    print(f"p99 with them: {loaded.p99_ms:.1f} ms (goal: <= {GOAL_P99_MS:g} ms), "
          f"errors {loaded.non_2xx + loaded.socket_errors}")  # fmt: skip
    print(ratio_line(f"{args.connections} hostile connections", [before, after], loaded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
