"""With YTDLP_PROXY set, on the real stack: the guard sees only the proxy's address, so each
target host is checked before it is asked of the proxy, redirects included, and ffmpeg's
relay checks first and then goes through the same proxy. The proxy (on the allowed
127.0.0.2) has no rules of its own: it would fetch the canary if asked."""

import pytest

from tests.support.hostile import ForwardProxy, Reply, attack_env
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def proxy():
    with ForwardProxy() as running:
        yield running


@pytest.fixture(scope="module")
def stack(tmp_path_factory, proxy):
    env = attack_env(YTDLP_PROXY=proxy.base_url)
    with LiveStack(tmp_path_factory.mktemp("proxied"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("proxied", ["get_video", "get_info"])


def test_allowed_media_is_fetched_through_the_proxy(stack, key, proxy, allowed_media):
    before = proxy.count()
    status = stack.run(key, "/get_info", {"url": allowed_media.url("progressive.mp4")})
    assert status["status"] == "completed", status.get("error")
    assert proxy.count() > before


def test_a_redirect_to_an_internal_host_is_not_asked_of_the_proxy(stack, key, hostile, canary):
    url = hostile.redirect("/to-canary", canary.url("progressive.mp4"))
    before = len(canary.records())
    status = stack.run(key, "/get_video", {"url": url})
    assert status["status"] == "error"
    assert "private or internal" in status["error"]
    assert hostile.count("/to-canary") >= 1
    assert len(canary.records()) == before


def test_ffmpeg_goes_through_the_proxy_after_the_relay_checked(stack, key, proxy, allowed_media):
    before = proxy.count()
    url = allowed_media.url("hls_vod/index.m3u8")
    status = stack.run(key, "/get_video", {"url": url, "start_time": 1, "end_time": 3})
    assert status["status"] == "completed", status.get("error")
    assert any("seg_" in path for path in proxy.requested[before:])


def test_ffmpeg_is_not_let_through_the_proxy_to_internal_segments(
    stack, key, hostile, canary, media_root
):
    playlist = (media_root / "hls_vod" / "index.m3u8").read_text()
    playlist = playlist.replace("seg_", canary.url("hls_vod/seg_"))
    url = hostile.route(
        "/proxied.m3u8", Reply(playlist, content_type="application/vnd.apple.mpegurl")
    )
    before = len(canary.records())
    status = stack.run(key, "/get_video", {"url": url, "start_time": 1, "end_time": 3})
    assert status["status"] == "error"
    assert len(canary.records()) == before
