"""A playlist on the real stack (gunicorn + qcluster): POST /get_playlist, its entries run
by the workers under MAX_TASKS_PER_KEY, then the whole playlist downloaded as one ZIP
streamed by gunicorn (issue 15)."""

import time
import zipfile

import pytest
import requests

from tests.support.media_files import ffprobe
from tests.support.media_server import MediaServer
from tests.support.playlists import write_page
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Two workers, one of them for this key: its entries run one after another.
    env = {"MAX_WORKERS": "2", "MAX_TASKS_PER_KEY": "1"}
    with LiveStack(tmp_path_factory.mktemp("playlists"), env=env) as stack:
        yield stack


def test_a_playlist_runs_its_entries_and_downloads_as_one_zip(
    stack, media_server, tmp_path_factory
):
    directory = tmp_path_factory.mktemp("page")
    sources = [media_server.url("progressive.mp4"), media_server.url("hls_vod/index.m3u8")]
    write_page(directory, "page.html", "Two clips", sources)
    key = stack.create_key("lister", ["get_video"])
    with MediaServer(directory) as pages:
        body = {"url": pages.url("page.html"), "type": "video", "output_format": "mkv"}
        task_id = stack.submit(key, "/get_playlist", body)
        running_at_once = 0
        deadline = time.monotonic() + 180
        while True:
            status = requests.get(
                f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": key}, timeout=10
            ).json()
            if status["status"] in ("completed", "error"):
                break
            running_at_once = max(running_at_once, status.get("counts", {}).get("processing", 0))
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
    assert status["status"] == "completed", status
    assert status["counts"] == {"waiting": 0, "processing": 0, "completed": 2, "error": 0}
    assert running_at_once <= 1  # MAX_TASKS_PER_KEY holds for a playlist's entries

    response = requests.get(f"{stack.base_url}{status['file']}", stream=True, timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert 'filename="Two clips.zip"' in response.headers["Content-Disposition"]
    saved = tmp_path_factory.mktemp("zip") / "playlist.zip"
    with open(saved, "wb") as handle:
        for chunk in response.iter_content(64 * 1024):
            handle.write(chunk)
    with zipfile.ZipFile(saved) as archive:
        assert archive.namelist() == ["1 - Two clips (1).mkv", "2 - Two clips (2).mkv"]
        assert archive.testzip() is None
        archive.extractall(saved.parent)
    for name in ("1 - Two clips (1).mkv", "2 - Two clips (2).mkv"):
        probe = ffprobe(saved.parent / name)
        assert probe["format"]["format_name"].startswith("matroska")
        assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}
