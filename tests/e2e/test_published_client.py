"""The reference client yt-dlp-host-api==0.2.0 against the real stack: gunicorn and a
django-q2 cluster as subprocesses, real downloads from the 127.0.0.1 media server.

Every test runs twice: on the embedded default (SQLite, ORM broker) and on PostgreSQL +
Redis (skipped without TEST_POSTGRES_URL and TEST_REDIS_URL; see tests/support/backends.py)."""

import contextlib

import pytest
from yt_dlp_host_api import api
from yt_dlp_host_api.exceptions import APIError

from tests.support.backends import fresh_postgres_and_redis
from tests.support.media_files import codecs, duration
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

USER_PERMISSIONS = ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]


@pytest.fixture(scope="module", params=["sqlite", "postgres+redis"])
def stack(request, tmp_path_factory):
    with contextlib.ExitStack() as resources:
        env = {}
        if request.param == "postgres+redis":
            env = resources.enter_context(fresh_postgres_and_redis(redis_db=1))
        yield resources.enter_context(LiveStack(tmp_path_factory.mktemp("stack"), env=env))


@pytest.fixture(scope="module")
def admin(stack):
    return api(stack.base_url).get_client(stack.admin_key)


@pytest.fixture(scope="module")
def user(stack, admin):
    secret = admin.create_key("e2e-user", USER_PERMISSIONS)
    return api(stack.base_url).get_client(secret)


def test_the_reference_client_manages_keys(stack, admin):
    secret = admin.create_key("e2e-temp", ["get_info"])
    assert admin.get_key("e2e-temp") == secret
    keys = admin.get_keys()
    assert keys["e2e-temp"]["permissions"] == ["get_info"]
    assert keys["admin"]["key"] == stack.admin_key
    temp = api(stack.base_url).get_client(secret)
    assert temp.check_permissions(["get_info"]) is True
    assert temp.check_permissions(["get_info", "get_video"]) is False
    with pytest.raises(APIError, match="already exists"):
        admin.create_key("e2e-temp", ["get_info"])
    assert admin.delete_key("e2e-temp")["name"] == "e2e-temp"
    with pytest.raises(APIError, match="not found"):
        admin.get_key("e2e-temp")
    assert temp.check_permissions(["get_info"]) is False


def test_the_reference_client_downloads_video(user, progressive_url, tmp_path):
    result = user.get_video(progressive_url)  # the client asks for mp4
    target = tmp_path / "video.mp4"
    result.save_file(target)
    found = codecs(target)
    assert found["video"] == ["h264"] and found["audio"] == ["aac"]


def test_the_reference_client_downloads_a_clip(user, dash_url, tmp_path):
    result = user.get_video(dash_url, start_time="00:00:02", end_time=7, force_keyframes=True)
    target = tmp_path / "clip.mp4"
    result.save_file(target)
    assert duration(target) == pytest.approx(5, abs=0.5)


def test_the_reference_client_downloads_mp3(user, dash_url, tmp_path):
    result = user.get_audio(dash_url, output_format="mp3")
    target = tmp_path / "audio.mp3"
    result.save_file(target)
    assert codecs(target) == {"video": [], "audio": ["mp3"]}


def test_the_reference_client_records_live_video(user, live_url, tmp_path):
    result = user.get_live_video(live_url, duration=5)
    target = tmp_path / "live.mp4"
    result.save_file(target)
    assert codecs(target)["video"] == ["h264"]
    assert duration(target) == pytest.approx(5, abs=1.1)


def test_the_reference_client_records_live_audio(user, live_url, tmp_path):
    result = user.get_live_audio(live_url, duration=4, output_format="mp3")
    target = tmp_path / "live.mp3"
    result.save_file(target)
    assert codecs(target) == {"video": [], "audio": ["mp3"]}


def test_the_reference_client_reads_info_fields(user, dash_url):
    result = user.get_info(dash_url)
    data = result.get_json(["qualities", "title"])
    assert set(data) == {"qualities", "title"}
    heights = {q["height"] for q in data["qualities"]["video"].values()}
    assert {144, 240, 360} <= heights
    assert data["qualities"]["audio"]
    whole = result.get_json()
    assert whole["formats"]


def test_a_failed_task_raises_with_the_reason(user, media_server):
    with pytest.raises(APIError, match="404"):
        user.get_video(media_server.url("missing.mp4"))
