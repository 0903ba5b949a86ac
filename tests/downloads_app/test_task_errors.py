"""A failed task's `error` in words a user understands, yt-dlp's own message in
`error_detail` and its `error_code`: real yt-dlp against the media server, run
in-process."""

import pytest

from tests.support.hostile import Reply
from tests.support.media_server import MediaServer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A web page with no video or audio on it, served from 127.0.0.1."""
    root = tmp_path_factory.mktemp("pages")
    (root / "article.html").write_text(
        "<!doctype html><html><head><title>Just text</title></head>"
        "<body><p>Nothing to watch here.</p></body></html>"
    )
    with MediaServer(root) as server:
        yield server


def test_a_404_says_what_the_url_answered_and_keeps_yt_dlps_words(run_task, media_server):
    task, status = run_task("/get_video", {"url": media_server.url("missing.mp4")})
    assert status["status"] == "error"
    assert status["error"] == "The URL answered 404 Not Found"
    assert status["error_detail"].startswith("[generic] missing: Unable to download webpage")
    assert "HTTP Error 404: Not Found" in status["error_detail"]
    assert task.error_detail == status["error_detail"]
    assert (status["error_code"], status["retry_after"]) == ("not_found", None)


def test_a_page_without_media_says_so_and_keeps_yt_dlps_words(run_task, pages):
    url = pages.url("article.html")
    _, status = run_task("/get_info", {"url": url})
    assert status["status"] == "error"
    assert status["error"] == "No video or audio found at this URL"
    assert status["error_detail"] == f"Unsupported URL: {url}"
    assert status["error_code"] == "unsupported_url"


def test_our_own_messages_stay_and_have_no_detail(run_task, live_url):
    _, status = run_task("/get_video", {"url": live_url})
    assert status["status"] == "error"
    assert "/get_live_video" in status["error"]
    assert status["error_detail"] is None
    assert status["error_code"] == "invalid_request"


def test_a_site_answering_429_is_rate_limited_for_as_long_as_it_says(run_task, hostile):
    busy = hostile.route("/busy", Reply(status=429, headers={"Retry-After": "120"}))
    task, status = run_task("/get_video", {"url": busy})
    assert status["status"] == "error"
    assert status["error"] == "The URL answered 429 Too Many Requests"  # as before codes
    assert (status["error_code"], status["retry_after"]) == ("rate_limited", 120)
    assert (task.error_code, task.retry_after) == ("rate_limited", 120)


def test_the_log_carries_yt_dlps_words(run_task, media_server, caplog):
    caplog.set_level("INFO", logger="ytdlphost.tasks")
    task, _ = run_task("/get_video", {"url": media_server.url("missing.mp4")})
    line = next(r.getMessage() for r in caplog.records if " failed: " in r.getMessage())
    assert line.startswith(f"task {task.id} failed: The URL answered 404 Not Found")
    assert "HTTP Error 404: Not Found (caused by" in line
