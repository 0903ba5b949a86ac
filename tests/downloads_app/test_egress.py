"""Attacks on what a task fetches, and where its webhook goes, on the real stack. Clips and
live recordings are fetched by ffmpeg, which must reach only what url_policy allows
(downloads_app/egress.py); pages are read into memory only up to MAX_PAGE_SIZE; a webhook
is delivered only where url_policy allows. The hostile server on 127.0.0.2 is allowed;
the canary on 127.0.0.1 stands for the internal network."""

import threading

import pytest
import requests

from tests.support.hostile import HOSTILE_HOST, Reply, attack_env, endless
from tests.support.processes import listening_ports, parent, task_processes, wait_until
from tests.support.stack import LiveStack
from tests.support.webhooks import Receiver, wait_for_webhook

pytestmark = pytest.mark.e2e

HLS = "application/vnd.apple.mpegurl"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Webhook retries a fraction of a second apart, 3 attempts in all.
    webhooks = {
        "WEBHOOK_BACKOFF_SECONDS": "0.3",
        "WEBHOOK_TIMEOUT": "3",
        "WEBHOOK_MAX_ATTEMPTS": "3",
    }
    env = attack_env(MAX_PAGE_SIZE="1M", **webhooks)
    with LiveStack(tmp_path_factory.mktemp("egress"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("egress", ["get_video", "get_live_video", "get_info"])


def playlist_on(canary, media_root, live=False):
    """The VOD playlist of the media fixture with every segment on the canary; without its
    end marker it reads as a live stream."""
    text = (media_root / "hls_vod" / "index.m3u8").read_text()
    text = text.replace("seg_", canary.url("hls_vod/seg_"))
    if live:
        text = text.replace("#EXT-X-PLAYLIST-TYPE:VOD\n", "").replace("#EXT-X-ENDLIST\n", "")
    return text


def test_a_clip_of_a_playlist_with_internal_segments_fails_without_reaching_them(
    stack, key, hostile, canary, media_root
):
    url = hostile.route("/clip.m3u8", Reply(playlist_on(canary, media_root), content_type=HLS))
    before = len(canary.records())
    status = stack.run(key, "/get_video", {"url": url, "start_time": 1, "end_time": 3})
    assert status["status"] == "error"
    assert "refused" in status["error"] and "127.0.0.1" in status["error"]
    assert len(canary.records()) == before


def test_a_live_recording_with_internal_segments_fails_without_reaching_them(
    stack, key, hostile, canary, media_root
):
    playlist = playlist_on(canary, media_root, live=True)
    url = hostile.route("/live.m3u8", Reply(playlist, content_type=HLS))
    before = len(canary.records())
    status = stack.run(key, "/get_live_video", {"url": url, "duration": 4})
    assert status["status"] == "error"
    assert "refused" in status["error"]
    assert len(canary.records()) == before


def test_a_clip_that_ffmpeg_is_redirected_to_an_internal_host_fails(stack, key, hostile, canary):
    # The page names a video yt-dlp itself never fetches; ffmpeg does, and is redirected.
    hop = hostile.redirect("/hop.mp4", canary.url("progressive.mp4"))
    page = hostile.route("/page", Reply(f'<html><video src="{hop}"></video></html>'))
    before = len(canary.records())
    status = stack.run(key, "/get_video", {"url": page, "start_time": 1, "end_time": 3})
    assert status["status"] == "error"
    assert "refused" in status["error"]
    assert hostile.count("/hop.mp4") >= 1  # ffmpeg did try
    assert len(canary.records()) == before


def test_a_clip_from_an_allowed_host_still_completes(stack, key, allowed_media):
    url = allowed_media.url("hls_vod/index.m3u8")
    status = stack.run(key, "/get_video", {"url": url, "start_time": 1, "end_time": 3})
    assert status["status"] == "completed", status.get("error")


def test_a_live_recording_from_an_allowed_host_still_completes(stack, key, allowed_media):
    url = allowed_media.url("live/index.m3u8")
    status = stack.run(key, "/get_live_video", {"url": url, "duration": 3})
    assert status["status"] == "completed", status.get("error")


def held_playlist(hostile, media_root, release: threading.Event) -> str:
    """The URL of a VOD playlist on the hostile server whose segments are answered only
    once `release` is set: its download stays running, relay and all, until then."""
    directory = media_root / "hls_vod"

    def held(segment: bytes):
        def write(handler):
            release.wait(60)
            handler.send_response(200)
            handler.send_header("Content-Type", "video/mp2t")
            handler.send_header("Content-Length", str(len(segment)))
            handler.end_headers()
            handler.wfile.write(segment)

        return Reply(body=write)

    for path in directory.glob("seg_*.ts"):
        hostile.route(f"/held/{path.name}", held(path.read_bytes()))
    playlist = (directory / "index.m3u8").read_text()
    return hostile.route("/held/index.m3u8", Reply(playlist, content_type=HLS))


def relay_port(task_id: str) -> int:
    """The port of the task's egress relay: what the parent of its ffmpeg (the task's work
    process) listens on."""
    ports = wait_until(
        lambda: {port for pid in task_processes(task_id) for port in listening_ports(parent(pid))},
        30,
        "the task's relay is not listening",
    )
    (port,) = ports
    return port


def test_a_stranger_on_loopback_can_neither_use_the_relay_nor_fail_a_running_clip(
    stack, key, hostile, canary, media_root
):
    release = threading.Event()
    url = held_playlist(hostile, media_root, release)
    task_id = stack.submit(key, "/get_video", {"url": url, "start_time": 1, "end_time": 3})
    try:
        wait_until(
            lambda: any(hostile.count(f"/held/seg_00{n}.ts") for n in range(5)),
            60,
            "ffmpeg never asked for a segment",
        )
        port = relay_port(task_id)
        relay = {"http": f"http://127.0.0.1:{port}"}
        guess = {"http": f"http://ffmpeg:guessed@127.0.0.1:{port}"}
        before = len(canary.records())
        # Without the download's credential: one request the relay would refuse, one it
        # would serve, and one with a wrong credential.
        refused = requests.get(canary.url("progressive.mp4"), proxies=relay, timeout=30)
        served = requests.get(hostile.url("/stranger"), proxies=relay, timeout=30)
        guessed = requests.get(hostile.url("/stranger"), proxies=guess, timeout=30)
    finally:
        release.set()
    status = stack.wait_for(task_id, key)
    answers = (refused.status_code, served.status_code, guessed.status_code)
    assert (*answers, status.get("error")) == (407, 407, 407, None)
    assert status["status"] == "completed"
    assert hostile.count("/stranger") == 0
    assert len(canary.records()) == before


def test_a_page_larger_than_max_page_size_fails_without_being_read_to_the_end(stack, key, hostile):
    huge = endless()
    url = hostile.route("/huge", huge)
    status = stack.run(key, "/get_info", {"url": url})
    assert status["status"] == "error"
    assert "MAX_PAGE_SIZE" in status["error"]
    assert huge.sent < 10 * 1024**2  # of 50 MB: the worker stopped reading near 1 MB


def test_a_compressed_page_is_capped_on_what_it_decodes_to(stack, key, hostile):
    import gzip

    bomb = gzip.compress(b"<p>" * 30 * 1024**2, compresslevel=9)  # 90 MB in well under 1 MB
    url = hostile.route("/bomb", Reply(bomb, headers={"Content-Encoding": "gzip"}))
    status = stack.run(key, "/get_info", {"url": url})
    assert status["status"] == "error"
    assert "MAX_PAGE_SIZE" in status["error"]


def test_describing_a_direct_file_does_not_reach_internal_hosts(stack, key, hostile, canary):
    # get_info looks inside a single direct file with ffprobe: through the relay too.
    page = hostile.route(
        "/one-video", Reply(f'<html><video src="{canary.url("progressive.mp4")}"></video></html>')
    )
    before = len(canary.records())
    status = stack.run(key, "/get_info", {"url": page})
    assert status["status"] == "completed", status.get("error")
    assert len(canary.records()) == before


def test_a_private_webhook_url_is_refused_at_submission_and_through_a_redirect(
    stack, allowed_media, canary
):
    media_url = allowed_media.url("progressive.mp4")
    hook_path = "/internal-hook"
    key = stack.create_key("webhook-attacker", ["get_info"])
    refused = requests.post(
        f"{stack.base_url}/get_info",
        json={"url": media_url, "webhook_url": canary.url(hook_path)},
        headers={"X-API-Key": key},
        timeout=10,
    )
    assert refused.status_code == 400
    assert "webhook_url" in refused.json()["error"]
    assert "ALLOW_PRIVATE_URLS" in refused.json()["error"]
    refused_default = requests.post(
        f"{stack.base_url}/create_key",
        json={"name": "sneaky", "permissions": [], "webhook_url": canary.url(hook_path)},
        headers={"X-API-Key": stack.admin_key},
        timeout=10,
    )
    assert refused_default.status_code == 400

    # An allowed receiver that redirects to the internal network.
    location = {"Location": canary.url(hook_path)}
    with Receiver([307], host=HOSTILE_HOST, headers=location) as redirecting:
        task_id = stack.submit(key, "/get_info", {"url": media_url, "webhook_url": redirecting.url})
        assert stack.wait_for(task_id, key)["status"] == "completed"
        assert wait_for_webhook(stack, key, task_id, "failed")["attempts"] == 3
        assert len(redirecting.received) == 3
    assert [r for r in canary.records() if r.path == hook_path] == []
