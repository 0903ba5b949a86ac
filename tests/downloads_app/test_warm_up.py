"""The worker's warm-up: whole extractions answered from memory, connecting nowhere, and
the TLS context that every later request handler of the process shares."""

import pytest
from yt_dlp.networking import _helper as networking_helper
from yt_dlp.utils import DownloadError

from downloads_app import connection_guard, warm_up_media, ytdlp
from downloads_app.connection_guard import ANSWERS_FROM_MEMORY, GuardedYoutubeDL
from downloads_app.ytdlp_options import base_options


@pytest.fixture
def no_connection(monkeypatch):
    """Every connection yt-dlp's handlers would open fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the warm-up opened a connection")

    monkeypatch.setattr(networking_helper, "create_connection", refuse)


def test_the_warm_up_extracts_each_kind_from_memory_and_connects_nowhere(no_connection, caplog):
    caplog.set_level("DEBUG", logger="ytdlphost.ytdlp")
    ytdlp.warm_up()  # raises when an extraction fails
    assert caplog.records == []  # not a line per extraction, per worker start


@pytest.mark.parametrize(
    ("path", "format_ids"),
    [
        ("video.mp4", ["mp4"]),
        ("manifest.mpd", ["video", "audio"]),
        ("index.m3u8", ["300"]),
    ],
)
def test_each_warm_up_answer_is_extracted_in_full(no_connection, path, format_ids):
    url = warm_up_media.BASE + path
    options = base_options() | {ANSWERS_FROM_MEMORY: warm_up_media.ANSWERS}
    with GuardedYoutubeDL(options) as ydl:
        info = ydl.extract_info(url, download=False)
    assert sorted(f["format_id"] for f in info["formats"]) == sorted(format_ids)


def test_a_url_without_an_answer_in_memory_fails_without_a_connection(no_connection):
    options = base_options() | {ANSWERS_FROM_MEMORY: warm_up_media.ANSWERS}
    with GuardedYoutubeDL(options) as ydl, pytest.raises(DownloadError, match="no answer"):
        ydl.extract_info("http://warm-up.invalid/other.mp4", download=False)


def test_handlers_share_one_tls_context_per_set_of_arguments():
    with GuardedYoutubeDL(base_options()) as first, GuardedYoutubeDL(base_options()) as second:
        first.make_tls_contexts()
        (handler,) = first._request_director.handlers.values()
        (other,) = second._request_director.handlers.values()
        assert handler._make_sslcontext() is other._make_sslcontext()
        assert handler._make_sslcontext(legacy_ssl_support=True) is not handler._make_sslcontext()
    with GuardedYoutubeDL(base_options() | {"nocheckcertificate": True}) as unverified:
        (handler_without_checks,) = unverified._request_director.handlers.values()
        context = handler_without_checks._make_sslcontext()
        assert context is not other._make_sslcontext() and not context.check_hostname


def test_a_client_certificate_gets_a_context_of_its_own(monkeypatch):
    made = []
    monkeypatch.setattr(
        connection_guard.UrllibRH, "_make_sslcontext", lambda self, legacy=None: made.append(1)
    )
    with GuardedYoutubeDL(base_options() | {"client_certificate": "/nonexistent.pem"}) as ydl:
        (handler,) = ydl._request_director.handlers.values()
        handler._make_sslcontext()
        handler._make_sslcontext()
    assert len(made) == 2
