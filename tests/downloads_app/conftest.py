import pytest
from django.conf import settings

from downloads_app.models import Task


@pytest.fixture
def user(make_key):
    """A key with every download permission, and a client sending it."""
    api_key, secret = make_key(
        "downloader",
        ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"],
    )
    return api_key, secret


@pytest.fixture
def user_client(user, client_for):
    return client_for(user[1])


@pytest.fixture
def run_task(user_client, django_capture_on_commit_callbacks):
    """run_task(endpoint, body) -> (task, status body), the task run to its end.

    The request commits, its on_commit hook queues the task, and django-q2 in sync mode
    (tests/settings.py) runs it in this process with real yt-dlp and ffmpeg.
    """

    def run(endpoint, body, client=None):
        client = client or user_client
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(endpoint, body, format="json")
        assert response.status_code == 200, response.json()
        task_id = response.json()["task_id"]
        status = client.get(f"/status/{task_id}").json()
        return Task.objects.get(pk=task_id), status

    return run


@pytest.fixture
def result_path():
    """result_path(task) -> the published file of a completed task."""

    def path(task):
        assert task.status == "completed", task.error
        return settings.DOWNLOAD_DIR / task.id / task.file_name

    return path


@pytest.fixture
def same_expires(monkeypatch):
    """One Expires for every never-cached answer (a session's: it is the current second),
    so that a fast route's answer and its view's compare byte for byte."""
    monkeypatch.setattr(
        "django.utils.cache.http_date", lambda *args: "Sun, 06 Dec 2026 05:00:00 GMT"
    )
