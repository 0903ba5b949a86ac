"""Fifty open web pages against the API's own throughput (issue 12).

Run from the repository root:

    .venv/bin/python bench/page_load.py             # 3 x 8 s, about 40 s in all
    .venv/bin/python bench/page_load.py --pages 50 --seconds 10

What it starts: a LiveStack (gunicorn 2 workers x 8 threads, one qcluster) on a fresh
DATA_DIR, a key with one completed get_info task (on the local DASH manifest) and ten
finished tasks in its list, so each page has a realistic list to poll.

What it measures: 16 keep-alive client threads on `GET /status/<id>` of that task, for
--seconds, three times: without pages, with --pages simulated open pages, and without
pages again (the two runs without pages are averaged, so a change of the machine's load
during the run affects both sides). A simulated page does what page.js does in a
foreground tab: signed in through /sign_in (its own session), then `GET
/tasks?limit=50&wait=25` with `If-None-Match`, asked again as soon as it is answered
(page.js's long poll: the server answers when the list changes, else a 304 after 25 s);
with --long-poll 0, one such request without `wait` per --interval instead (page.js
before its long poll: 1 s while a task runs, 5 s when none is waiting or running). Reported: /status
requests per second in each run, the pages' requests and how many were 304, and the
ratio with/without pages (issue 12's goal: at least 0.90).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.stack import LiveStack  # noqa: E402

HAMMER_THREADS = 16
FOREGROUND_POLL = 1.0  # task_list.js's FOREGROUND_POLL_MS: a task of the page is waiting or running
LONG_POLL_SECONDS = 25.0  # task_list.js's LONG_POLL_SECONDS: a visible page with an ETag


def status_throughput(url: str, key: str, seconds: float) -> float:
    """Requests per second of HAMMER_THREADS keep-alive threads on `url`."""
    counts = [0] * HAMMER_THREADS
    deadline = time.monotonic() + seconds

    def hammer(index: int) -> None:
        with requests.Session() as session:
            session.headers["X-API-Key"] = key
            while time.monotonic() < deadline:
                response = session.get(url, timeout=30)
                if response.status_code != 200:
                    raise RuntimeError(f"/status answered {response.status_code}")
                counts[index] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(HAMMER_THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


class Page(threading.Thread):
    """One open page: its own signed-in session, one conditional /tasks per second."""

    def __init__(
        self,
        base_url: str,
        key: str,
        stop: threading.Event,
        interval: float,
        long_poll_seconds: float = 0.0,
    ):
        super().__init__(daemon=True)
        self.base_url, self.stop, self.interval = base_url, stop, interval
        self.long_poll_seconds = long_poll_seconds
        self.session = requests.Session()
        self.session.get(f"{base_url}/", timeout=30)
        token = self.session.cookies["csrftoken"]
        signed = self.session.post(
            f"{base_url}/sign_in",
            data={"key": key, "csrfmiddlewaretoken": token},
            headers={"Origin": base_url},
            allow_redirects=False,
            timeout=30,
        )
        assert signed.status_code == 302, signed.text
        self.requests = self.not_modified = 0
        self.etag = None

    def run(self) -> None:
        next_poll = time.monotonic()
        while not self.stop.is_set():
            headers = {"If-None-Match": self.etag} if self.etag else {}
            long_poll = self.long_poll_seconds and self.etag
            query = f"&wait={self.long_poll_seconds:g}" if long_poll else ""
            response = self.session.get(
                f"{self.base_url}/tasks?limit=50{query}", headers=headers, timeout=90
            )
            self.requests += 1
            if response.status_code == 304:
                self.not_modified += 1
            else:
                response.raise_for_status()
                self.etag = response.headers["ETag"]
            if long_poll:  # the page asks again at once: the server did the waiting
                continue
            next_poll += self.interval
            self.stop.wait(max(0.0, next_poll - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--interval",
        type=float,
        default=FOREGROUND_POLL,
        help="seconds between a page's polls: 1 (default) as while a task runs, 5 as "
        "the page's IDLE_POLL_MS when none is waiting or running (with --long-poll 0)",
    )
    parser.add_argument(
        "--long-poll",
        type=float,
        default=LONG_POLL_SECONDS,
        help="a page's `wait` once it has an ETag, as the page's LONG_POLL_SECONDS "
        "(default 25); 0: poll every --interval instead, as page.js did before",
    )
    args = parser.parse_args()

    generate_media(MEDIA_CACHE_DIR)
    env = {"REQUEST_LIMIT": "100000"}
    with (
        tempfile.TemporaryDirectory(prefix="ytdlphost-page-bench-") as data_dir,
        MediaServer(MEDIA_CACHE_DIR) as media,
        LiveStack(Path(data_dir), env=env) as stack,
    ):
        key = stack.create_key("bench", ["get_info"])
        task_id = None
        for _ in range(11):
            status = stack.run(key, "/get_info", {"url": media.url("dash/manifest.mpd")})
            assert status["status"] == "completed", status
            task_id = status["task_id"]
        url = f"{stack.base_url}/status/{task_id}"
        status_throughput(url, key, 2.0)  # warm-up

        before = status_throughput(url, key, args.seconds)
        stop = threading.Event()
        pages = [
            Page(stack.base_url, key, stop, args.interval, args.long_poll)
            for _ in range(args.pages)
        ]
        for page in pages:
            page.start()
        time.sleep(min(args.interval, 2.0))  # every page has its ETag
        with_pages = status_throughput(url, key, args.seconds)
        stop.set()
        for page in pages:  # a long-polling page may stay parked: a daemon, left alone
            page.join(timeout=0 if args.long_poll else None)
        after = status_throughput(url, key, args.seconds)

    without = (before + after) / 2
    polls = sum(page.requests for page in pages)
    not_modified = sum(page.not_modified for page in pages)
    print(f"/status without pages: {before:.0f} and {after:.0f} req/s (mean {without:.0f})")
    print(
        f"/status with {args.pages} open pages "
        + (
            f"long-polling (wait={args.long_poll:g})"
            if args.long_poll
            else f"polling every {args.interval:g} s"
        )
        + ": "
        f"{with_pages:.0f} req/s"
    )
    print(f"pages' /tasks requests: {polls}, of which 304: {not_modified}")
    print(f"ratio with/without: {with_pages / without:.3f} (goal: >= 0.90)")


if __name__ == "__main__":
    main()
