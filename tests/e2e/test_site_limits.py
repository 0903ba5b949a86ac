"""Politeness to each site on the real stack (gunicorn + qcluster): SITE_CONCURRENCY lets
one task of a site run at a time across the workers, and a site that answers 429 with
Retry-After has its other tasks held back, not failed, until then; they resume by
themselves (the cluster's maintenance pass).

One stack: two workers, a key may run two tasks, every site one. The sites are loopback
addresses, each its own site: the media server on 127.0.0.1, a refusing server on
127.0.0.3. The unit tests of the same rules: tests/downloads_app/test_site_limits.py.
"""

import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler

import pytest

from tests.support.hostile import HostileServer, Reply
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

RETRY_AFTER = 3  # seconds: as short as the test can make the site's wait


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"MAX_WORKERS": "2", "MAX_TASKS_PER_KEY": "2", "SITE_CONCURRENCY": "*=1"}
    with LiveStack(tmp_path_factory.mktemp("site-limits"), env=env) as running:
        yield running


def started_and_finished(stack, task_id):
    row = stack.task_row(task_id)
    return datetime.fromisoformat(row["started_at"]), datetime.fromisoformat(row["finished_at"])


def test_a_sites_tasks_run_one_at_a_time_and_the_next_waits_instead_of_failing(stack, media_server):
    key = stack.create_key("one-site", ["get_info"])
    url = media_server.url("progressive.mp4")
    # Two workers and a key that may run two: only the site's cap keeps them apart.
    task_ids = [stack.submit(key, "/get_info", {"url": f"{url}?n={n}"}) for n in range(2)]
    assert [stack.wait_for(task_id, key)["status"] for task_id in task_ids] == ["completed"] * 2
    first, second = sorted(started_and_finished(stack, task_id) for task_id in task_ids)
    assert second[0] >= first[1]  # started once the first had ended
    assert [stack.task_row(task_id)["attempts"] for task_id in task_ids] == [1, 1]


class RefusesFirst:
    """A site that answers its first request 429 with Retry-After, and serves the media
    file to every later one; it notes when each request came (wall-clock, as the
    service's backoff is)."""

    def __init__(self, media: bytes):
        self.media = media
        self.times: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.times.append(time.time())
            refuse = len(self.times) == 1
        if refuse:
            handler.send_response(429)
            handler.send_header("Retry-After", str(RETRY_AFTER))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(len(self.media)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(self.media)


def test_a_site_answering_429_holds_its_other_task_for_its_retry_after_then_runs_it(
    stack, media_root
):
    key = stack.create_key("refused", ["get_info"])
    site = RefusesFirst((media_root / "progressive.mp4").read_bytes())
    with HostileServer(host="127.0.0.3") as server:
        urls = [server.route(f"/video-{n}.mp4", Reply(body=site)) for n in range(2)]
        task_ids = [stack.submit(key, "/get_info", {"url": url}) for url in urls]
        statuses = {stack.wait_for(task_id, key)["status"]: task_id for task_id in task_ids}
    # Whichever of the two the workers took first was refused; the other waited.
    assert set(statuses) == {"error", "completed"}
    refused, held = stack.task_row(statuses["error"]), stack.task_row(statuses["completed"])
    assert (refused["error_code"], refused["retry_after"]) == ("rate_limited", RETRY_AFTER)
    assert held["attempts"] == 1  # never failed, only held back
    # The site heard nothing more from the service until its Retry-After had passed.
    refused_at, *later = site.times
    assert later and min(later) - refused_at >= RETRY_AFTER
    assert "site 127.0.0.3 refused a task (1 in a row)" in stack.log_path.read_text()
