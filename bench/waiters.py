"""500 long polls against the API's own throughput (issue 13).

Run from the repository root:

    .venv/bin/python bench/waiters.py                  # 500 waiters, 3 x 10 s, about a minute
    .venv/bin/python bench/waiters.py --waiters 200 --seconds 5

What it starts: the test media behind a MediaServer and a LiveStack (gunicorn as
gunicorn.conf.py configures it, one qcluster) on a fresh DATA_DIR. A key with one completed
get_info task (what wrk asks for) and a few live recordings of the media server's endless
HLS stream, asked for an hour each, so they stay unfinished (waiting or processing) for
the whole run.

What it measures: `wrk -t2 -c16` (bench/wrk.py) on plain `GET /status/<completed id>`,
three times: without waiters, with --waiters connections each holding `GET
/status/<unfinished id>?wait=60` (spread over the recordings, sent again whenever
answered), and without again. Reported: requests/s and p99 of each run and the ratio
with/without (the mean of the two runs without). Issue 13's goal: the waiters neither
exhaust the web workers (every waiter is connected and parked, the plain requests are
answered) nor lower the throughput by more than 20% (ratio at least 0.80).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.wrk import WrkResult, describe, run_wrk  # noqa: E402
from tests.support.media import MediaServer, generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

RECORDINGS = 4
RECORDING_SECONDS = 3600


@dataclass
class BenchStack:
    stack: LiveStack
    key: str
    completed_id: str
    unfinished_ids: list[str]

    def status_url(self, task_id: str) -> str:
        return f"{self.stack.base_url}/status/{task_id}"


@contextlib.contextmanager
def bench_stack(prefix: str, recordings: int = RECORDINGS) -> Iterator[BenchStack]:
    """A LiveStack with a key, one completed task and `recordings` unfinished ones."""
    generate_media(MEDIA_CACHE_DIR)
    env = {"REQUEST_LIMIT": "100000", "LIVE_MAX_DURATION": str(RECORDING_SECONDS)}
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as data_dir,
        MediaServer(MEDIA_CACHE_DIR) as media,
        LiveStack(Path(data_dir), env=env) as stack,
    ):
        key = stack.create_key("bench", ["get_info", "get_live_video"])
        completed = stack.run(key, "/get_info", {"url": media.url("dash/manifest.mpd")})
        assert completed["status"] == "completed", completed
        live = {"url": media.url("live/index.m3u8"), "duration": RECORDING_SECONDS}
        unfinished = [stack.submit(key, "/get_live_video", live) for _ in range(recordings)]
        yield BenchStack(stack, key, completed["task_id"], unfinished)


class ConnectionCrowd:
    """`count` client connections, each run by the coroutine `connection(index)`, on an
    event loop of their own in one thread (a thread each would measure the client). `opened`
    counts those connected; entering waits until all are, for at most READY_TIMEOUT."""

    READY_TIMEOUT = 30.0

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.opened = 0
        self.loop = asyncio.new_event_loop()
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.run(),))

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + self.READY_TIMEOUT
        while self.opened < self.count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def __exit__(self, *exc_info) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join()

    async def run(self) -> None:
        self.stopping = asyncio.Event()
        connections = [asyncio.create_task(self.connection(index)) for index in range(self.count)]
        await self.stopping.wait()
        for connection in connections:
            connection.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    async def connection(self, index: int) -> None:
        raise NotImplementedError


class Waiters(ConnectionCrowd):
    """Connections each holding `GET <path>?wait=60`, and sending it again when answered."""

    READY_TIMEOUT = 60.0

    def __init__(self, port: int, key: str, paths: list[str], count: int):
        super().__init__(port, count)
        self.key, self.paths = key, paths
        self.answers = self.failures = 0

    def __enter__(self) -> Waiters:
        super().__enter__()
        time.sleep(1.0)  # the last requests reach the server and park
        return self

    async def connection(self, index: int) -> None:
        path = self.paths[index % len(self.paths)]
        request = (
            f"GET {path}?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {self.key}\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.opened += 1
        try:
            while True:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    self.failures += 1
                self.answers += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            self.failures += 1
        finally:
            writer.close()


def ratio_line(name: str, without: list[WrkResult], loaded: WrkResult) -> str:
    mean = sum(r.requests_per_second for r in without) / len(without)
    return (
        f"ratio with/without {name}: {loaded.requests_per_second / mean:.3f} "
        f"({loaded.requests_per_second:.0f} / {mean:.0f} req/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiters", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    with bench_stack("ytdlphost-waiters-bench-") as bench:
        url, headers = bench.status_url(bench.completed_id), {"X-API-Key": bench.key}
        run_wrk(url, headers, seconds=2)  # warm-up
        before = run_wrk(url, headers, seconds=args.seconds)
        print(f"without waiters   {describe(before)}", flush=True)
        paths = [f"/status/{task_id}" for task_id in bench.unfinished_ids]
        with Waiters(bench.stack.port, bench.key, paths, args.waiters) as waiters:
            loaded = run_wrk(url, headers, seconds=args.seconds)
            print(f"with {waiters.opened} waiters {describe(loaded)}", flush=True)
            parked = waiters.opened - waiters.failures
        after = run_wrk(url, headers, seconds=args.seconds)
        print(f"without waiters   {describe(after)}")
    print(f"waiters connected {waiters.opened}, still parked during the run {parked}, "
          f"answered {waiters.answers}, failed {waiters.failures}")  # fmt: skip
    print(ratio_line(f"{args.waiters} waiters", [before, after], loaded) + " (goal: >= 0.80)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
