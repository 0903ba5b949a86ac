"""GET /me: a key's own permissions and where it stands in its rate-limit window."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from downloads_app import lifecycle
from downloads_app.models import TaskRequest

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/video.mp4"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(lifecycle, "enqueue", lambda task_id: None)


def test_a_fresh_key_sees_its_name_permissions_and_whole_limit(make_key, client_for, settings):
    settings.REQUEST_LIMIT = 5
    _, secret = make_key("reader", ["get_info", "get_audio"])
    response = client_for(secret).get("/me")
    assert response.status_code == 200
    assert response.json() == {
        "name": "reader",
        "permissions": ["get_info", "get_audio"],
        "request_limit": 5,
        "remaining": 5,
        "reset": 0,
        "reset_at": None,
        "quota": {"window": 1440.0, "key": None, "server": None},
    }


def test_it_counts_what_the_key_used_and_says_when_a_request_frees(user_client, settings):
    settings.REQUEST_LIMIT = 3
    settings.TASK_CLEANUP_TIME = 10
    user_client.post("/get_info", {"url": URL}, format="json")
    TaskRequest.objects.update(created_at=timezone.now() - timedelta(minutes=4))  # counted
    user_client.post("/get_info", {"url": URL}, format="json")
    me = user_client.get("/me").json()
    assert (me["request_limit"], me["remaining"]) == (3, 1)
    assert 359 <= me["reset"] <= 360  # the older request leaves the window in 6 minutes
    expected = timezone.now() + timedelta(seconds=360)
    assert abs(parse_datetime(me["reset_at"]) - expected) < timedelta(seconds=5)


def test_it_shows_the_keys_own_request_limit(make_key, client_for, settings):
    settings.REQUEST_LIMIT = 5
    _, secret = make_key("generous", ["get_info"], request_limit=50)
    assert client_for(secret).get("/me").json()["request_limit"] == 50


def test_it_never_shows_the_secret(make_key, client_for):
    _, secret = make_key("private", ["get_info"])
    response = client_for(secret).get("/me")
    assert response.status_code == 200
    assert secret not in response.content.decode()
    assert "key" not in response.json()


def test_it_needs_a_valid_key(client_for):
    assert client_for().get("/me").status_code == 401
    assert client_for("not-a-key").get("/me").status_code == 401


def test_a_key_without_any_permission_may_ask(make_key, client_for):
    _, secret = make_key("nothing", [])
    assert client_for(secret).get("/me").json()["permissions"] == []
