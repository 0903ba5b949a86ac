"""A call under a deadline runs in a child process: its result or its DownloadFailed come
back as they were, and a call that outlives the deadline is killed."""

import os

import pytest

from downloads_app import deadline, ytdlp
from downloads_app.errors import DownloadFailed, ErrorCode
from tests.support.hostile import drip

pytestmark = pytest.mark.django_db


def test_the_result_comes_back_from_a_child_process():
    assert deadline.call_with_deadline(os.getpid, (), 10, "late") != os.getpid()
    assert deadline.call_with_deadline(divmod, (7, 2), 10, "late") == (3, 1)


def test_a_download_failure_comes_back_with_its_code():
    def refuse(message):
        raise DownloadFailed(message, ErrorCode.PRIVATE, detail="yt-dlp's words", retry_after=9)

    with pytest.raises(DownloadFailed) as raised:
        deadline.call_with_deadline(refuse, ("The video is private",), 10, "late")
    failure = raised.value
    assert (str(failure), failure.code) == ("The video is private", ErrorCode.PRIVATE)
    assert (failure.detail, failure.retry_after) == ("yt-dlp's words", 9)


def test_any_other_exception_is_an_internal_failure():
    with pytest.raises(DownloadFailed, match="ZeroDivisionError") as raised:
        deadline.call_with_deadline(divmod, (1, 0), 10, "late")
    assert raised.value.code == ErrorCode.INTERNAL


def test_a_listing_of_a_dripping_page_ends_at_the_deadline(hostile):
    url = hostile.route("/feed", drip(b"<html>" + b" " * 100, every=0.2, content_type="text/html"))
    with pytest.raises(DownloadFailed, match="too slow") as raised:
        deadline.call_with_deadline(ytdlp.list_playlist, (url, "", 3), 1.0, "too slow")
    assert raised.value.code == ErrorCode.TIMEOUT  # the drip alone would take 20 s
