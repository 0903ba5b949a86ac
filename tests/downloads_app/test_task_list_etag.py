"""GET /tasks answers 304 to an unchanged list (the web page polls it every second), and
each task shows its title and, once completed, its file's size."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from downloads_app.models import Task, WebhookDelivery

pytestmark = pytest.mark.django_db

URL = "http://example.com/video"


def make_task(api_key, **fields):
    return Task.objects.create(api_key=api_key, task_type="get_video", url=URL, **fields)


def test_the_list_has_an_etag_and_an_unchanged_list_is_a_304(user, user_client):
    make_task(user[0])
    first = user_client.get("/tasks")
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_any_change_in_the_list_changes_the_etag(user, user_client):
    task = make_task(user[0], status="processing")
    etag = user_client.get("/tasks")["ETag"]
    Task.objects.filter(pk=task.pk).update(downloaded_bytes=10, total_bytes=100)
    changed = user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["tasks"][0]["progress"]["percent"] == 10.0
    make_task(user[0])
    assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 200


def test_a_weak_or_listed_etag_matches_too(user, user_client):
    make_task(user[0])
    etag = user_client.get("/tasks")["ETag"]
    assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=f'"x", W/{etag}').status_code == 304


def test_another_key_s_etag_does_not_match(user, user_client, make_key, client_for):
    make_task(user[0])
    etag = user_client.get("/tasks")["ETag"]
    other_key, secret = make_key("other", ["get_video"])
    make_task(other_key)
    assert client_for(secret).get("/tasks", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_task_shows_its_title_once_known(user, user_client):
    task = make_task(user[0])
    assert user_client.get(f"/status/{task.id}").json()["title"] is None
    Task.objects.filter(pk=task.pk).update(title="A song")
    assert user_client.get(f"/status/{task.id}").json()["title"] == "A song"


def test_a_completed_task_shows_its_file_size(user, user_client):
    task = make_task(user[0], status="completed", file_name="video.mp4")
    directory = settings.DOWNLOAD_DIR / task.id
    directory.mkdir(parents=True)
    (directory / "video.mp4").write_bytes(b"x" * 1234)
    body = user_client.get(f"/status/{task.id}").json()
    assert body["file"] == f"/files/{task.id}/video.mp4"
    assert body["file_size"] == 1234
    waiting = make_task(user[0])
    assert "file_size" not in user_client.get(f"/status/{waiting.id}").json()


def test_the_schema_documents_the_etag_and_the_304(client):
    operation = client.get("/openapi.json").json()["paths"]["/tasks"]["get"]
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "304" in operation["responses"]
    assert "If-None-Match" in [parameter["name"] for parameter in operation["parameters"]]


def make_playlist(api_key, entries: int, **fields):
    playlist = Task.objects.create(
        api_key=api_key, task_type="get_playlist", playlist_type="get_video", url=URL, **fields
    )
    for position in range(1, entries + 1):
        make_task(api_key, parent=playlist, position=position, title=f"Entry {position}")
    return playlist


def queries_of(client, path) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        body = client.get(path).json()
    return len(queries), body


def test_the_playlists_of_a_page_are_read_in_one_query_together(user, user_client):
    make_playlist(user[0], entries=3, status="processing")
    user_client.get("/me")  # the first request of a key also records its use
    one_playlist, _ = queries_of(user_client, "/tasks")
    for _ in range(4):
        make_playlist(user[0], entries=3, status="processing")
    five_playlists, body = queries_of(user_client, "/tasks")
    assert five_playlists == one_playlist
    playlists = [task for task in body["tasks"] if task["task_type"] == "get_playlist"]
    assert len(playlists) == 5
    for playlist in playlists:
        titles = [child["title"] for child in playlist["children"]]
        assert titles == ["Entry 1", "Entry 2", "Entry 3"]
        assert playlist["counts"]["waiting"] == 3
        assert playlist["progress"]["percent"] == 0.0


def test_an_entry_s_progress_changes_the_etag_of_a_list_of_playlists_only(user, user_client):
    playlist = make_playlist(user[0], entries=2, status="processing")
    listing = user_client.get("/tasks?task_type=get_playlist")
    assert [task["task_id"] for task in listing.json()["tasks"]] == [playlist.id]
    entry = playlist.children.get(position=1)
    Task.objects.filter(pk=entry.pk).update(
        status="processing", downloaded_bytes=50, total_bytes=100
    )
    changed = user_client.get("/tasks?task_type=get_playlist", HTTP_IF_NONE_MATCH=listing["ETag"])
    assert changed.status_code == 200
    assert changed.json()["tasks"][0]["progress"]["percent"] == 25.0
    assert changed.json()["tasks"][0]["counts"]["processing"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"status": "completed"},
        {"title": "Now known"},
        {"error": "Failed", "error_detail": "why"},
        {"error_code": "rate_limited"},
        {"retry_after": 60},
        {"cancelled": True},
        {"eta": 3},
        {"speed": 1.5},
        {"file_name": "v.mp4"},
        {"webhook_url": "http://example.com/hook"},
    ],
)
def test_each_shown_field_of_a_task_changes_the_etag(user, user_client, change):
    task = make_task(user[0], status="processing")
    etag = user_client.get("/tasks")["ETag"]
    Task.objects.filter(pk=task.pk).update(**change)
    assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_start_or_finish_time_changes_the_etag(user, user_client):
    task = make_task(user[0], status="processing")
    etag = user_client.get("/tasks")["ETag"]
    Task.objects.filter(pk=task.pk).update(started_at=timezone.now())
    started = user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag)
    assert started.status_code == 200
    Task.objects.filter(pk=task.pk).update(finished_at=timezone.now())
    assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=started["ETag"]).status_code == 200


def test_a_removed_task_changes_the_etag(user, user_client):
    make_task(user[0])
    removed = make_task(user[0])
    etag = user_client.get("/tasks")["ETag"]
    removed.delete()
    assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_delivery_s_attempts_alone_change_the_etag(user, user_client):
    task = make_task(user[0], status="completed")
    delivery = WebhookDelivery.objects.create(
        api_key=user[0], task_id=task.id, event_type="task.completed",
        url="http://example.com/hook", payload="{}", state="pending", attempts=1,
    )  # fmt: skip
    etag = user_client.get("/tasks")["ETag"]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=2)
    changed = user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["tasks"][0]["webhook"] == {"state": "pending", "attempts": 2}


def test_the_end_of_an_entry_s_playlist_changes_the_etag_of_a_page_without_it(user, user_client):
    # The entry's expires_at is its playlist's: known once the playlist has finished.
    playlist = make_playlist(user[0], entries=1, status="processing")
    Task.objects.filter(parent=playlist).update(status="completed", finished_at=timezone.now())
    listing = user_client.get("/tasks?task_type=get_video")
    assert listing.json()["tasks"][0]["expires_at"] is None
    Task.objects.filter(pk=playlist.pk).update(status="completed", finished_at=timezone.now())
    changed = user_client.get("/tasks?task_type=get_video", HTTP_IF_NONE_MATCH=listing["ETag"])
    assert changed.status_code == 200
    assert changed.json()["tasks"][0]["expires_at"] is not None


def test_a_new_cleanup_time_changes_the_etag(user, user_client, settings):
    make_task(user[0], status="completed", finished_at=timezone.now())
    etag = user_client.get("/tasks")["ETag"]
    settings.TASK_CLEANUP_TIME = settings.TASK_CLEANUP_TIME + 5
    assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag).status_code == 200
