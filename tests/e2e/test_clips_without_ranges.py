"""Through the real stack (gunicorn + qcluster): clips of an MP4 with its index at the end,
from a media server that answers every request whole with 200, are cut from the whole
file, and the worker's log says why it downloaded all of it."""

import pytest
import requests

from tests.support.media_files import codecs, duration
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("clips")) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("clipper", ["get_video", "get_audio"])


def published(stack, key, status, directory):
    """The task's file, fetched from /files into `directory`."""
    assert status["status"] == "completed", status.get("error")
    response = requests.get(
        f"{stack.base_url}{status['file']}", headers={"X-API-Key": key}, timeout=30
    )
    assert response.status_code == 200
    path = directory / status["file"].rsplit("/", 1)[1]
    path.write_bytes(response.content)
    return path


def test_video_and_audio_clips_from_a_server_without_ranges_complete(
    stack, key, no_range_media_server, tmp_path
):
    url = no_range_media_server.url("progressive_index_at_end.mp4")
    exact_clip = {"start_time": 2, "end_time": 6, "force_keyframes": True}
    video_id = stack.submit(key, "/get_video", {"url": url, **exact_clip, "output_format": "webm"})
    audio_id = stack.submit(
        key, "/get_audio", {"url": url, "start_time": "00:00:05", "output_format": "mp3"}
    )

    video = published(stack, key, stack.wait_for(video_id, key), tmp_path)
    audio = published(stack, key, stack.wait_for(audio_id, key), tmp_path)

    assert duration(video) == pytest.approx(4, abs=0.3)
    found = codecs(video)
    assert found["video"] == ["vp9"] and found["audio"] == ["opus"]
    # From 5 s to the end of the 10 s file, cut at the keyframe at 4 s at the earliest.
    assert 4.8 <= duration(audio) <= 6.2
    assert codecs(audio) == {"video": [], "audio": ["mp3"]}
    log = stack.log_path.read_text()
    assert log.count("ignores byte ranges; downloading the whole file") == 2
