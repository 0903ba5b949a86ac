"""GET /tasks, POST /cancel, POST /retry, DELETE /delete_task, and the admin's actions
(issue 11). The processing side of a cancel (a running ffmpeg) is in
tests/e2e/test_lifecycle.py."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from downloads_app import heartbeat, lifecycle, runner
from downloads_app.models import Task
from tests.support.hostile import Reply

pytestmark = pytest.mark.django_db

URL = "http://example.com/video"


def make_task(api_key, **fields):
    return Task.objects.create(api_key=api_key, task_type="get_info", url=URL, **fields)


@pytest.fixture
def other(make_key, client_for):
    api_key, secret = make_key("other", ["get_info"])
    return api_key, client_for(secret)


# GET /tasks


def test_a_key_lists_only_its_own_tasks_newest_first_in_the_status_shape(user, user_client, other):
    older = make_task(user[0])
    newer = make_task(user[0], status="error", error="boom")
    make_task(other[0])
    body = user_client.get("/tasks").json()
    assert [task["task_id"] for task in body["tasks"]] == [newer.id, older.id]
    assert body["tasks"][0] == user_client.get(f"/status/{newer.id}").json()
    assert body["next"] is None
    assert "key_name" not in body["tasks"][0]


def test_all_tasks_need_get_keys_and_then_carry_the_key_name(
    user, user_client, other, admin_client
):
    make_task(user[0])
    make_task(other[0])
    refused = user_client.get("/tasks?all=true")
    assert refused.status_code == 403 and refused.json() == {"error": "Insufficient permissions"}
    listed = admin_client.get("/tasks?all=true").json()["tasks"]
    assert sorted(task["key_name"] for task in listed) == ["downloader", "other"]
    assert admin_client.get("/tasks").json()["tasks"] == []  # its own: none


def test_the_list_filters_by_status_and_type(user, user_client):
    failed = make_task(user[0], status="error")
    make_task(user[0])
    audio = Task.objects.create(api_key=user[0], task_type="get_audio", url=URL, status="error")
    by_status = user_client.get("/tasks?status=error").json()["tasks"]
    assert {task["task_id"] for task in by_status} == {failed.id, audio.id}
    both = user_client.get("/tasks?status=error&task_type=get_info").json()["tasks"]
    assert [task["task_id"] for task in both] == [failed.id]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "status=done", "task_type=x", "cursor=nonsense", "sort=id"]
)
def test_bad_list_queries_are_400_naming_the_field(user_client, query):
    response = user_client.get(f"/tasks?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]


def test_a_cursor_walk_returns_each_task_once_while_tasks_are_created(user, user_client):
    # Ten tasks share each creation time, so the id must break the ties.
    base = timezone.now() - timedelta(hours=1)
    original = set()
    for index in range(120):
        task = make_task(user[0])
        Task.objects.filter(pk=task.pk).update(created_at=base + timedelta(seconds=index // 10))
        original.add(task.id)
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=7" + (f"&cursor={cursor}" if cursor else "")
        body = user_client.get(f"/tasks?{query}").json()
        seen += [task["task_id"] for task in body["tasks"]]
        make_task(user[0])  # a new task between pages
        make_task(user[0])
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 120 and set(seen) == original
    assert pages == 18


def test_the_limit_defaults_to_50(user, user_client):
    for _ in range(51):
        make_task(user[0])
    body = user_client.get("/tasks").json()
    assert len(body["tasks"]) == 50 and body["next"]


# POST /cancel


def test_a_cancelled_waiting_task_never_runs(user_client, queued):
    task_id = user_client.post("/get_info", {"url": URL}, format="json").json()["task_id"]
    response = user_client.post(f"/cancel/{task_id}")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["error"], body["cancelled"]) == ("error", "Cancelled", True)
    assert body["error_code"] == "cancelled"
    runner.task_run(task_id)  # its queue message arrives after all
    task = Task.objects.get(pk=task_id)
    assert task.status == "error" and task.started_at is None and task.attempts == 0
    assert user_client.get(f"/status/{task_id}").json()["cancelled"] is True


def test_a_task_not_cancelled_says_so(user, user_client):
    task = make_task(user[0])
    assert user_client.get(f"/status/{task.id}").json()["cancelled"] is False


def test_only_the_owner_or_get_keys_may_cancel(user, other, admin_client):
    task = make_task(user[0])
    response = other[1].post(f"/cancel/{task.id}")
    assert response.status_code == 404 and response.json() == {"error": "Task not found"}
    assert Task.objects.get(pk=task.pk).status == "waiting"
    assert admin_client.post(f"/cancel/{task.id}").json()["cancelled"] is True


@pytest.mark.parametrize("status", ["completed", "error"])
def test_cancelling_a_finished_task_is_409(user, user_client, status):
    task = make_task(user[0], status=status)
    response = user_client.post(f"/cancel/{task.id}")
    assert response.status_code == 409 and status in response.json()["error"]
    assert Task.objects.get(pk=task.pk).cancelled is False


def test_keep_is_for_live_recordings_only(user, user_client):
    task = make_task(user[0], status="processing")
    response = user_client.post(f"/cancel/{task.id}", {"keep": True}, format="json")
    assert response.status_code == 400 and "keep" in response.json()["error"]
    assert user_client.post(f"/cancel/{task.id}", {"kep": True}, format="json").status_code == 400


def test_keep_asks_the_worker_to_stop_a_recording_and_leaves_it_processing(user, user_client):
    task = Task.objects.create(
        api_key=user[0], task_type="get_live_video", url=URL, status="processing", attempts=1
    )
    body = user_client.post(f"/cancel/{task.id}", {"keep": True}, format="json").json()
    assert body["status"] == "processing" and body["cancelled"] is False
    assert Task.objects.get(pk=task.pk).keep_requested
    assert heartbeat.stop_request(Task.objects.get(pk=task.pk)) == "keep"


def test_a_cancel_that_wins_the_race_makes_the_workers_completion_a_no_op(user):
    task = make_task(user[0], status="processing", attempts=1)
    lifecycle.task_cancel(task.id)
    assert heartbeat.stop_request(task) == "stop"
    assert lifecycle.task_finish(task, "completed", file_name="info.json") is False
    stored = Task.objects.get(pk=task.pk)
    assert (stored.status, stored.error, stored.file_name) == ("error", "Cancelled", "")


def test_a_completion_that_wins_the_race_makes_the_cancel_a_409(user, user_client):
    task = make_task(user[0], status="processing", attempts=1)
    assert lifecycle.task_finish(task, "completed", file_name="info.json")
    assert user_client.post(f"/cancel/{task.id}").status_code == 409
    assert Task.objects.get(pk=task.pk).status == "completed"


# POST /retry


def test_a_failed_task_retried_against_a_now_working_url_completes(
    user_client, hostile, media_root, django_capture_on_commit_callbacks
):
    url = hostile.url("/later.mp4")  # 404 until routed
    with django_capture_on_commit_callbacks(execute=True):
        task_id = user_client.post("/get_video", {"url": url}, format="json").json()["task_id"]
    assert Task.objects.get(pk=task_id).status == "error"
    hostile.route(
        "/later.mp4",
        Reply(body=(media_root / "progressive.mp4").read_bytes(), content_type="video/mp4"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(f"/retry/{task_id}")
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    status = user_client.get(f"/status/{task_id}").json()
    assert status["status"] == "completed", status
    assert (settings.DOWNLOAD_DIR / task_id / status["file"].rsplit("/", 1)[1]).stat().st_size
    assert Task.objects.get(pk=task_id).attempts == 1


def test_a_retry_counts_against_the_rate_limit(user, user_client, queued, settings):
    settings.REQUEST_LIMIT = 2
    task_id = user_client.post("/get_info", {"url": URL}, format="json").json()["task_id"]
    user_client.post(f"/cancel/{task_id}")
    assert user_client.post(f"/retry/{task_id}").status_code == 200  # the 2nd request
    refused = user_client.post("/get_info", {"url": URL}, format="json")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    user_client.post(f"/cancel/{task_id}")
    limited = user_client.post(f"/retry/{task_id}")
    assert limited.status_code == 429 and "Rate limit" in limited.json()["error"]
    assert Task.objects.get(pk=task_id).status == "error"  # the refused retry changed nothing


@pytest.mark.parametrize("status", ["waiting", "processing", "completed"])
def test_retrying_a_task_that_has_not_failed_is_409(user, user_client, status):
    task = make_task(user[0], status=status)
    response = user_client.post(f"/retry/{task.id}")
    assert response.status_code == 409 and status in response.json()["error"]


def test_another_keys_task_cannot_be_retried(user, user_client, other, queued):
    task = make_task(user[0], status="error")
    response = other[1].post(f"/retry/{task.id}")
    assert response.status_code == 404 and response.json() == {"error": "Task not found"}
    assert Task.objects.get(pk=task.pk).status == "error"
    assert user_client.post(f"/retry/{task.id}").status_code == 200  # its own key may


# DELETE /delete_task


def test_delete_frees_the_files_at_once_and_then_status_and_files_are_404(user, user_client):
    task = make_task(user[0], status="completed", file_name="info.json")
    directory = settings.DOWNLOAD_DIR / task.id
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "info.json").write_text("{}")
    response = user_client.delete(f"/delete_task/{task.id}")
    assert response.status_code == 200 and response.json()["task_id"] == task.id
    assert not directory.exists()
    assert user_client.get(f"/status/{task.id}").status_code == 404
    assert user_client.get(f"/files/{task.id}/info.json").status_code == 404


def test_deleting_a_waiting_task_cancels_it_and_gives_no_request_back(
    user_client, queued, settings
):
    settings.REQUEST_LIMIT = 1
    task_id = user_client.post("/get_info", {"url": URL}, format="json").json()["task_id"]
    assert user_client.delete(f"/delete_task/{task_id}").status_code == 200
    assert not Task.objects.filter(pk=task_id).exists()
    assert user_client.post("/get_info", {"url": URL}, format="json").status_code == 429


def test_another_keys_task_cannot_be_deleted(user, other, admin_client):
    task = make_task(user[0])
    response = other[1].delete(f"/delete_task/{task.id}")
    assert response.status_code == 404 and response.json() == {"error": "Task not found"}
    assert Task.objects.filter(pk=task.pk).exists()
    assert admin_client.delete(f"/delete_task/{task.id}").status_code == 200  # get_keys may
    assert not Task.objects.filter(pk=task.pk).exists()


# The admin


def test_the_admin_cancels_and_retries_through_the_same_services(
    client, user, queued, django_capture_on_commit_callbacks
):
    client.force_login(User.objects.create_superuser("owner", "o@example.com", "pw"))
    waiting, done = make_task(user[0]), make_task(user[0], status="completed")
    page = client.post(
        "/admin/downloads_app/task/",
        {"action": "cancel_tasks", "_selected_action": [waiting.id, done.id]},
        follow=True,
    )
    assert b"1 task(s) cancelled" in page.content and b"already finished" in page.content
    assert Task.objects.get(pk=waiting.pk).cancelled
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/downloads_app/task/",
            {"action": "retry_tasks", "_selected_action": [waiting.id]},
        )
    assert Task.objects.get(pk=waiting.pk).status == "waiting"
    assert waiting.id in queued


# Who may act on a task (issue 20): seeing a task is not enough to change it.


@pytest.fixture
def watcher(make_key, client_for):
    """A key that sees every task (get_keys) and may start none."""
    api_key, secret = make_key("watcher", ["get_keys"])
    return api_key, client_for(secret)


ACTIONS = {
    "cancel": lambda client, task_id: client.post(f"/cancel/{task_id}"),
    "retry": lambda client, task_id: client.post(f"/retry/{task_id}"),
    "delete_task": lambda client, task_id: client.delete(f"/delete_task/{task_id}"),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", ["waiting", "error"])
def test_a_get_keys_key_sees_but_cannot_act_on_the_tasks_of_a_stronger_key(
    user, user_client, watcher, queued, action, status
):
    task = make_task(user[0], status=status)
    assert watcher[1].get(f"/status/{task.id}").status_code == 200  # it sees it
    response = ACTIONS[action](watcher[1], task.id)
    assert response.status_code == 403, response.json()
    assert "permissions you do not hold: get_video" in response.json()["error"]
    stored = Task.objects.get(pk=task.pk)
    assert (stored.status, stored.cancelled) == (status, False)


def test_a_key_acts_on_the_tasks_of_a_key_it_covers(make_key, client_for, user, queued):
    weaker_key, _ = make_key("weaker", ["get_info"])
    task = make_task(weaker_key, status="error")
    response = client_for(user[1]).post(f"/retry/{task.id}")  # user has get_info and more
    assert response.status_code == 404  # but not get_keys: it does not even see the task
    _, stronger = make_key("stronger", ["get_keys", "get_info"])
    assert client_for(stronger).post(f"/retry/{task.id}").status_code == 200
    assert Task.objects.get(pk=task.pk).status == "waiting"


@pytest.mark.parametrize(
    ("fields", "permission"),
    [
        ({"task_type": "get_video"}, "get_video"),
        ({"task_type": "get_live_audio"}, "get_live_audio"),
        ({"task_type": "get_playlist", "playlist_type": "get_audio"}, "get_audio"),
    ],
)
def test_a_key_whose_permission_was_revoked_cannot_retry_its_tasks(
    user, user_client, queued, fields, permission
):
    task = Task.objects.create(api_key=user[0], url=URL, status="error", **fields)
    user[0].permissions = [p for p in user[0].permissions if p != permission]
    user[0].save()
    response = user_client.post(f"/retry/{task.id}")
    assert response.status_code == 403
    assert response.json() == {"error": f"Insufficient permissions: needs {permission}"}
    assert Task.objects.get(pk=task.pk).status == "error"
