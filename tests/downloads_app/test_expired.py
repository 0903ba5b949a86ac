"""A task that cleanup removed answers 410 "expired" for a while, not 404 "unknown"."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from downloads_app import maintenance
from downloads_app.models import Task, TaskTombstone

pytestmark = pytest.mark.django_db

EXPIRED = "Task expired: finished tasks are kept for 10 minutes (TASK_CLEANUP_TIME)"


@pytest.fixture
def expired(user):
    """A completed task with its file, finished long ago, and cleanup run once."""
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v",
        status="completed", file_name="video.mp4",
    )  # fmt: skip
    directory = settings.DOWNLOAD_DIR / task.id
    directory.mkdir(parents=True)
    (directory / "video.mp4").write_bytes(b"x" * 100)
    Task.objects.filter(pk=task.pk).update(finished_at=timezone.now() - timedelta(hours=1))
    assert maintenance.cleanup_expired()["tasks_deleted"] == 1
    return task


def test_status_of_an_expired_task_is_410_with_the_cleanup_time(user_client, expired):
    response = user_client.get(f"/status/{expired.id}")
    assert response.status_code == 410
    assert response.json() == {"error": EXPIRED}


def test_the_message_follows_the_setting(user_client, expired, settings):
    settings.TASK_CLEANUP_TIME = 1.5
    response = user_client.get(f"/status/{expired.id}")
    assert response.json()["error"] == (
        "Task expired: finished tasks are kept for 1.5 minutes (TASK_CLEANUP_TIME)"
    )


def test_the_file_url_of_an_expired_task_is_410_without_a_key(client, expired):
    response = client.get(f"/files/{expired.id}/video.mp4")
    assert response.status_code == 410
    assert response.json() == {"error": EXPIRED}
    assert "no-store" in response["Cache-Control"]


def test_only_keys_that_could_see_it_learn_it_expired(
    user_client, admin_client, make_key, client_for, expired
):
    _, stranger = make_key("stranger", ["get_video"])
    response = client_for(stranger).get(f"/status/{expired.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "Task not found"}
    assert user_client.get(f"/status/{expired.id}").status_code == 410
    assert admin_client.get(f"/status/{expired.id}").status_code == 410  # holds get_keys


def test_when_files_require_the_key_only_its_keys_learn_it_expired(
    client, client_for, make_key, user, expired, settings
):
    settings.FILES_REQUIRE_KEY = True
    _, stranger = make_key("stranger", ["get_video"])
    assert client_for(stranger).get(f"/files/{expired.id}/video.mp4").status_code == 404
    assert client_for(user[1]).get(f"/files/{expired.id}/video.mp4").status_code == 410


def test_an_id_that_never_existed_is_still_404(user_client, client, expired):
    assert user_client.get(f"/status/{expired.id}").status_code == 410
    assert user_client.get("/status/neverexisted").status_code == 404
    assert client.get(f"/files/{expired.id}/video.mp4").status_code == 410
    assert client.get("/files/neverexisted/video.mp4").status_code == 404


def test_tombstones_are_forgotten_after_task_tombstone_days(user_client, expired, settings):
    settings.TASK_TOMBSTONE_DAYS = 7
    TaskTombstone.objects.filter(pk=expired.id).update(
        expired_at=timezone.now() - timedelta(days=6)
    )
    assert maintenance.cleanup_expired()["tombstones_deleted"] == 0
    assert user_client.get(f"/status/{expired.id}").status_code == 410
    TaskTombstone.objects.filter(pk=expired.id).update(
        expired_at=timezone.now() - timedelta(days=8)
    )
    assert maintenance.cleanup_expired()["tombstones_deleted"] == 1
    assert user_client.get(f"/status/{expired.id}").status_code == 404


def test_only_cleanup_leaves_a_tombstone(user_client, user, expired):
    deleted = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    deleted.delete()  # as DELETE /delete_task does: on purpose, not expired
    maintenance.cleanup_expired()
    assert list(TaskTombstone.objects.values_list("id", flat=True)) == [expired.id]
    assert user_client.get(f"/status/{deleted.id}").status_code == 404
