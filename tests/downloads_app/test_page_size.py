"""Whole-body reads stop at MAX_PAGE_SIZE also when the body is compressed (a few MB of
gzip can hold gigabytes) and when it is an HTTP error's body."""

import gzip
import tracemalloc
import zlib

import pytest
from yt_dlp.dependencies import brotli
from yt_dlp.networking.exceptions import HTTPError, TransportError

from downloads_app.connection_guard import GuardedYoutubeDL
from tests.support.hostile import Reply, endless

PAGE = "<html><video src='v.mp4'></video>" + "x" * 5000 + "</html>"


@pytest.fixture
def small_pages(settings):
    settings.MAX_PAGE_SIZE = 1024**2


def fetch(url: str) -> bytes:
    with GuardedYoutubeDL({"quiet": True}) as ydl:
        return ydl.urlopen(url).read()


def refused_within_memory(url: str) -> int:
    """Fetch a bomb: refused, naming the limit; returns the peak memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises(TransportError, match="MAX_PAGE_SIZE"):
            fetch(url)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_stops_at_the_limit(small_pages, hostile):
    bomb = gzip.compress(b"\0" * 64 * 1024**2, compresslevel=9)  # 64 MB in about 64 KB
    url = hostile.route("/bomb", Reply(bomb, headers={"Content-Encoding": "gzip"}))
    assert refused_within_memory(url) < 16 * 1024**2  # never the 64 MB it holds


def test_a_deflate_bomb_stops_at_the_limit(small_pages, hostile):
    bomb = zlib.compress(b"\0" * 64 * 1024**2, 9)
    url = hostile.route("/deflate-bomb", Reply(bomb, headers={"Content-Encoding": "deflate"}))
    assert refused_within_memory(url) < 16 * 1024**2


@pytest.mark.skipif(brotli is None, reason="no brotli module")
def test_a_brotli_bomb_stops_at_the_limit(small_pages, hostile):
    bomb = brotli.compress(b"\0" * 64 * 1024**2)
    url = hostile.route("/br-bomb", Reply(bomb, headers={"Content-Encoding": "br"}))
    assert refused_within_memory(url) < 16 * 1024**2


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip", gzip.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate
        ("deflate", zlib.compress),  # a zlib stream
        *([("br", brotli.compress)] if brotli else []),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
)
def test_compressed_pages_within_the_limit_are_decoded(small_pages, hostile, encoding, encode):
    path = "/page-" + encoding.replace(", ", "-")
    url = hostile.route(path, Reply(encode(PAGE.encode()), headers={"Content-Encoding": encoding}))
    assert fetch(url).decode() == PAGE


def test_with_no_limit_compressed_pages_are_decoded_whole(settings, hostile):
    settings.MAX_PAGE_SIZE = 0
    body = b"y" * 3 * 1024**2
    url = hostile.route(
        "/big-gzip", Reply(gzip.compress(body), headers={"Content-Encoding": "gzip"})
    )
    assert fetch(url) == body


def test_an_error_body_is_capped_too(small_pages, hostile):
    huge = endless(status=404)
    url = hostile.route("/missing", huge)
    with GuardedYoutubeDL({"quiet": True}) as ydl, pytest.raises(HTTPError) as raised:
        ydl.urlopen(url)
    with pytest.raises(TransportError, match="MAX_PAGE_SIZE"):
        raised.value.response.read()
    assert huge.sent < 10 * 1024**2
