from datetime import UTC, datetime

import pytest
from django.utils import timezone

from downloads_app.heartbeat import ProgressRecorder
from downloads_app.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(user):
    return Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v",
        video_format="bestvideo[height<=1080]", audio_format="bestaudio[abr<=129]",
        output_format="mp4",
    )  # fmt: skip


def test_status_shows_the_documented_fields(user_client, task):
    body = user_client.get(f"/status/{task.id}").json()
    assert body["status"] == "waiting"
    assert body["task_type"] == "get_video"
    assert body["url"] == "http://example.com/v"
    assert body["video_format"] == "bestvideo[height<=1080]"
    assert body["audio_format"] == "bestaudio[abr<=129]"
    assert body["created_at"] and body["started_at"] is None
    assert "file" not in body and "error" not in body


def test_status_shows_progress_while_processing(user_client, task):
    Task.objects.filter(pk=task.pk).update(status="processing")
    ProgressRecorder(task.id)(
        {"status": "downloading", "downloaded_bytes": 250, "total_bytes": 1000,
         "speed": 50.0, "eta": 15}
    )  # fmt: skip
    progress = user_client.get(f"/status/{task.id}").json()["progress"]
    assert progress == {
        "downloaded_bytes": 250, "total_bytes": 1000, "percent": 25.0, "speed": 50.0, "eta": 15.0,
    }  # fmt: skip


def test_progress_is_written_at_most_once_per_interval(task):
    Task.objects.filter(pk=task.pk).update(status="processing")
    recorder = ProgressRecorder(task.id, interval=60)
    recorder({"status": "downloading", "downloaded_bytes": 1})
    recorder({"status": "downloading", "downloaded_bytes": 2})
    task.refresh_from_db()
    assert task.downloaded_bytes == 1


def test_another_key_sees_404_as_if_the_task_did_not_exist(task, make_key, client_for):
    _, secret = make_key("stranger", ["get_video"])
    response = client_for(secret).get(f"/status/{task.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Task not found"}


def test_a_key_holding_get_keys_sees_every_task(task, make_key, client_for):
    _, secret = make_key("auditor", ["get_keys"])
    assert client_for(secret).get(f"/status/{task.id}").status_code == 200


def test_an_unknown_task_is_404(user_client):
    assert user_client.get("/status/nope").status_code == 404


def test_status_needs_a_key(client_for, task):
    assert client_for().get(f"/status/{task.id}").status_code == 401


def test_progress_is_not_written_to_a_task_that_is_no_longer_processing(task):
    Task.objects.filter(pk=task.pk).update(status="error", error="Cancelled")
    ProgressRecorder(task.id)({"status": "downloading", "downloaded_bytes": 5})
    task.refresh_from_db()
    assert task.downloaded_bytes is None


def test_a_finished_task_says_when_it_and_its_file_are_removed(user_client, task, settings):
    settings.TASK_CLEANUP_TIME = 10
    assert "expires_at" not in user_client.get(f"/status/{task.id}").json()  # waiting
    finished = datetime(2026, 12, 6, 7, 0, 0, 250000, tzinfo=UTC)
    Task.objects.filter(pk=task.pk).update(status="error", error="x", finished_at=finished)
    body = user_client.get(f"/status/{task.id}").json()
    assert body["finished_at"] == "2026-12-06T07:00:00.250000Z"
    assert body["expires_at"] == "2026-12-06T07:10:00.250000Z"


def test_an_entry_of_a_playlist_expires_with_its_playlist(user, user_client, settings):
    settings.TASK_CLEANUP_TIME = 1.5
    playlist = Task.objects.create(
        api_key=user[0], task_type="get_playlist", playlist_type="get_video",
        url="http://example.com/list", status="processing",
    )  # fmt: skip
    entry = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v", parent=playlist,
        position=1, status="completed", file_name="video.mp4", finished_at=timezone.now(),
    )  # fmt: skip
    assert user_client.get(f"/status/{entry.id}").json()["expires_at"] is None
    finished = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    Task.objects.filter(pk=playlist.pk).update(status="completed", finished_at=finished)
    assert user_client.get(f"/status/{entry.id}").json()["expires_at"] == "2026-12-06T07:01:30Z"
