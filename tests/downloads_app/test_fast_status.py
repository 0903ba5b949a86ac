"""GET /status/<id> off Django's request cycle (downloads_app/fast_routes/status.py) answers
exactly what StatusView answers, and leaves every other case to it.

Compared with the view through the real entry point, for every credential and request
shape, in tests/ytdlphost/test_fast_path_equivalence.py; here, what a unit shows."""

import json

import pytest
from django.utils import timezone

from downloads_app.fast_routes import status as status_route
from downloads_app.models import Task, TaskStatus, WebhookDelivery
from ytdlphost.fast_path import FastRequest

pytestmark = pytest.mark.django_db


def fast_request(task_id, secret):
    headers = {"x-api-key": secret} if secret is not None else {}
    return FastRequest({"task_id": task_id}, {}, headers)


@pytest.fixture
def finished_task(user):
    return Task.objects.create(
        api_key=user[0], task_type="get_info", url="http://example.com/v",
        status=TaskStatus.COMPLETED, file_name="info.json", title="Ünïcode title",
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip


def test_a_running_tasks_fast_answer_shows_its_progress_as_the_view_does(user, user_client):
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v",
        status=TaskStatus.PROCESSING, downloaded_bytes=10, total_bytes=40,
    )  # fmt: skip
    answer = status_route.status_answer(fast_request(task.id, user[1]))
    assert json.loads(answer.body) == user_client.get(f"/status/{task.id}").json()
    assert json.loads(answer.body)["progress"]["percent"] == 25.0


def test_a_deleted_key_is_refused_on_its_next_fast_request(user, finished_task):
    assert status_route.status_answer(fast_request(finished_task.id, user[1])) is not None
    user[0].delete()
    assert status_route.status_answer(fast_request(finished_task.id, user[1])) is None


def assert_fast_equals_view(user, user_client, task):
    answer = status_route.status_answer(fast_request(task.id, user[1]))
    response = user_client.get(f"/status/{task.id}")
    assert answer.status == response.status_code == 200
    assert answer.body == response.content
    return json.loads(answer.body)


def test_a_clip_task_s_columns_are_converted_as_the_orm_converts_them(user, user_client):
    # Floats, a boolean and several datetimes: SQLite returns them raw, the fast route's
    # one query converts them as the ORM's compiler would.
    task = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v",
        status=TaskStatus.ERROR, error="Cancelled", cancelled=True, start_time=1.5,
        end_time=4.25, force_keyframes=True, output_format="mp4",
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    body = assert_fast_equals_view(user, user_client, task)
    assert body["force_keyframes"] is True and body["start_time"] == 1.5


def test_a_task_with_a_webhook_delivery_shows_it_on_the_fast_route(
    user, user_client, finished_task
):
    WebhookDelivery.objects.create(
        api_key=user[0], task_id=finished_task.id, event_type="task.completed",
        url="http://example.com/hook", payload="{}", state="delivered", attempts=1,
    )  # fmt: skip
    assert assert_fast_equals_view(user, user_client, finished_task)["webhook"]["state"] == (
        "delivered"
    )


def test_a_playlist_and_its_entry_answer_on_the_fast_route_as_in_the_view(user, user_client):
    playlist = Task.objects.create(
        api_key=user[0], task_type="get_playlist", playlist_type="get_audio",
        url="http://example.com/list", status=TaskStatus.PROCESSING, title="A list",
    )  # fmt: skip
    entry = Task.objects.create(
        api_key=user[0], task_type="get_audio", url="http://example.com/1", parent=playlist,
        position=1, status=TaskStatus.COMPLETED, finished_at=timezone.now(),
    )  # fmt: skip
    assert [
        child["task_id"]
        for child in assert_fast_equals_view(user, user_client, playlist)["children"]
    ] == [entry.id]
    assert assert_fast_equals_view(user, user_client, entry)["playlist"] == playlist.id


def test_an_entry_s_expiry_is_its_playlists_on_both_routes(user, user_client):
    playlist = Task.objects.create(
        api_key=user[0], task_type="get_playlist", playlist_type="get_video",
        url="http://example.com/list", status=TaskStatus.COMPLETED, finished_at=timezone.now(),
    )  # fmt: skip
    entry = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v", parent=playlist,
        position=1, status=TaskStatus.ERROR, error="Failed", finished_at=timezone.now(),
    )  # fmt: skip
    answer = status_route.status_answer(fast_request(entry.id, user[1]))
    assert answer.body == user_client.get(f"/status/{entry.id}").content
    assert json.loads(answer.body)["expires_at"] is not None
