"""500 long polls against the API's own throughput (issue 13), and 500 long polls of the
web page's task list by one session (issue 20).

Run from the repository root:

    .venv/bin/python bench/waiters.py                  # 500 waiters, 3 x 10 s, about a minute
    .venv/bin/python bench/waiters.py --waiters 200 --seconds 5
    .venv/bin/python bench/waiters.py --session-waiters 500   # /tasks?wait=60 by a session
    .venv/bin/python bench/waiters.py --session-waiters 500 --max-task-list-waiters 1000

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

With --session-waiters N the waiters are instead the web page's: one session, signed in
through /sign_in with a second key ("pages", whose tasks do not change), each connection
holding `GET /tasks?limit=50&wait=60` with If-None-Match, as page.js asks. The bench key's
recordings progress meanwhile, so every change of its tasks is a chance to wake them.
Beyond MAX_TASK_LIST_WAITERS per web process (--max-task-list-waiters sets it for the
stack) a waiter is refused with 429 and asks again after its Retry-After; the report
counts those. Issue 20's review measured /status p99 going from 5 ms to 4 s with 500.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.wrk import WrkResult, describe, run_wrk  # noqa: E402
from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
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
def bench_stack(
    prefix: str, recordings: int = RECORDINGS, env: dict | None = None
) -> Iterator[BenchStack]:
    """A LiveStack with a key, one completed task and `recordings` unfinished ones."""
    generate_media(MEDIA_CACHE_DIR)
    env = {"REQUEST_LIMIT": "100000", "LIVE_MAX_DURATION": str(RECORDING_SECONDS), **(env or {})}
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
        self.answers = self.failures = self.refused = 0

    def __enter__(self) -> Waiters:
        super().__enter__()
        time.sleep(1.0)  # the last requests reach the server and park
        return self

    def request(self, index: int) -> bytes:
        path = self.paths[index % len(self.paths)]
        return (
            f"GET {path}?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {self.key}\r\n\r\n"
        ).encode()

    def answered(self, index: int, head: bytes, headers: dict) -> bool:
        """Whether the answer is one the waiter expects (else counted as a failure)."""
        return head.startswith(b"HTTP/1.1 200")

    async def connection(self, index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.opened += 1
        try:
            while True:
                writer.write(self.request(index))
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower().decode()] = value.strip().decode()
                await reader.readexactly(int(headers.get("content-length", 0)))
                self.answers += 1
                if head.startswith(b"HTTP/1.1 429"):
                    # Over the cap: back off as told, on a new connection (the server
                    # closes one idle for longer than its keep-alive).
                    self.refused += 1
                    writer.close()
                    await asyncio.sleep(float(headers.get("retry-after", 1)))
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                elif not self.answered(index, head, headers):
                    self.failures += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            self.failures += 1
        finally:
            writer.close()


class SessionWaiters(Waiters):
    """Connections each holding the web page's long poll of its task list, `GET
    /tasks?limit=50&wait=60` with the session's cookies and If-None-Match, and sending it
    again when answered (with the new ETag after a 200)."""

    PAGE = "/tasks?limit=50"

    def __init__(self, port: int, cookies: str, etag: str, count: int):
        super().__init__(port, "", [self.PAGE], count)
        self.cookies = cookies
        self.etags = [etag] * count

    def request(self, index: int) -> bytes:
        return (
            f"GET {self.PAGE}&wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Accept: application/json\r\nCookie: {self.cookies}\r\n"
            f"If-None-Match: {self.etags[index]}\r\n\r\n"
        ).encode()

    def answered(self, index: int, head: bytes, headers: dict) -> bool:
        if head.startswith(b"HTTP/1.1 200"):
            self.etags[index] = headers.get("etag", self.etags[index])
            return True
        return head.startswith(b"HTTP/1.1 304")


def signed_in_page(base_url: str, key: str) -> tuple[str, str]:
    """The Cookie header and the task list's ETag of a page signed in with `key`."""
    with requests.Session() as browser:
        browser.get(f"{base_url}/", timeout=30)
        token = browser.cookies["csrftoken"]
        signed_in = browser.post(
            f"{base_url}/sign_in", data={"key": key, "csrfmiddlewaretoken": token}, timeout=30
        )
        assert signed_in.ok and "sessionid" in browser.cookies, signed_in.status_code
        page = browser.get(f"{base_url}{SessionWaiters.PAGE}", timeout=30)
        assert page.status_code == 200, page.status_code
        cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        return cookies, page.headers["ETag"]


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
    parser.add_argument(
        "--session-waiters", type=int, default=0,
        help="instead: this many /tasks?wait=60 long polls of one signed-in session",
    )  # fmt: skip
    parser.add_argument(
        "--max-task-list-waiters", type=int, default=None,
        help="the stack's MAX_TASK_LIST_WAITERS (default: the setting's default)",
    )  # fmt: skip
    args = parser.parse_args()

    env = {}
    if args.max_task_list_waiters is not None:
        env["MAX_TASK_LIST_WAITERS"] = str(args.max_task_list_waiters)
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    with bench_stack("ytdlphost-waiters-bench-", env=env) as bench:
        url, headers = bench.status_url(bench.completed_id), {"X-API-Key": bench.key}
        if args.session_waiters:
            pages = bench.stack.create_key("pages", ["get_info"])
            cookies, etag = signed_in_page(bench.stack.base_url, pages)
            crowd = SessionWaiters(bench.stack.port, cookies, etag, args.session_waiters)
            name = f"{args.session_waiters} session waiters"
        else:
            paths = [f"/status/{task_id}" for task_id in bench.unfinished_ids]
            crowd = Waiters(bench.stack.port, bench.key, paths, args.waiters)
            name = f"{args.waiters} waiters"
        run_wrk(url, headers, seconds=2)  # warm-up
        before = run_wrk(url, headers, seconds=args.seconds)
        print(f"without waiters   {describe(before)}", flush=True)
        with crowd as waiters:
            loaded = run_wrk(url, headers, seconds=args.seconds)
            print(f"with {waiters.opened} waiters {describe(loaded)}", flush=True)
            parked = waiters.opened - waiters.failures
        after = run_wrk(url, headers, seconds=args.seconds)
        print(f"without waiters   {describe(after)}")
    print(f"waiters connected {waiters.opened}, still parked during the run {parked}, "
          f"answered {waiters.answers} (refused 429: {waiters.refused}), "
          f"failed {waiters.failures}")  # fmt: skip
    print(ratio_line(name, [before, after], loaded) + " (goal: >= 0.80)")
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
