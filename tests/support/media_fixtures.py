"""Session fixtures for the synthetic media in tests/support/media_files.py, served by
tests/support/media_server.py.

Re-exported from tests/conftest.py with `from tests.support.media_fixtures import *`.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.media_files import generate_media
from tests.support.media_server import MediaServer

__all__ = [
    "MEDIA_CACHE_DIR",
    "dash_url",
    "hls_vod_url",
    "live_dvr_url",
    "live_url",
    "media_root",
    "media_server",
    "no_range_media_server",
    "page_url",
    "progressive_url",
]

# Kept between runs (the repo's .cache/ is gitignored); generate_media skips the ~5 s of
# encoding when the version marker there is current.
MEDIA_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "test-media"


@pytest.fixture(scope="session")
def media_root() -> Path:
    generate_media(MEDIA_CACHE_DIR)
    return MEDIA_CACHE_DIR


@pytest.fixture(scope="session")
def media_server(media_root: Path) -> Iterator[MediaServer]:
    """Started MediaServer on 127.0.0.1. Its live clock starts with the session, and its
    request log is shared by all tests: compare counts before/after, or call clear_log()."""
    with MediaServer(media_root) as server:
        yield server


@pytest.fixture(scope="session")
def no_range_media_server(media_root: Path) -> Iterator[MediaServer]:
    """The same media from a server that ignores `Range`: every file whole, with 200."""
    with MediaServer(media_root, honour_ranges=False) as server:
        yield server


@pytest.fixture(scope="session")
def progressive_url(media_server: MediaServer) -> str:
    return media_server.url("progressive.mp4")


@pytest.fixture(scope="session")
def dash_url(media_server: MediaServer) -> str:
    return media_server.url("dash/manifest.mpd")


@pytest.fixture(scope="session")
def hls_vod_url(media_server: MediaServer) -> str:
    return media_server.url("hls_vod/index.m3u8")


@pytest.fixture(scope="session")
def live_url(media_server: MediaServer) -> str:
    return media_server.url("live/index.m3u8")


@pytest.fixture(scope="session")
def live_dvr_url(media_server: MediaServer) -> str:
    return media_server.url("live_dvr/index.m3u8")


@pytest.fixture(scope="session")
def page_url(media_server: MediaServer) -> str:
    """A web page whose <video> (progressive.mp4) has a poster and English subtitles."""
    return media_server.url("page/video.html")
