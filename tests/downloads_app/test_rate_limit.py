import threading

import pytest
from django.db import connections

from downloads_app import lifecycle
from downloads_app.models import Task, TaskRequest

URL = "http://127.0.0.1:9/video.mp4"


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    """These tests count accepted requests; the tasks need not run."""
    monkeypatch.setattr(lifecycle, "enqueue", lambda task_id: None)


@pytest.mark.django_db
def test_the_limit_accepts_n_requests_then_answers_429_with_retry_after(user_client, settings):
    settings.REQUEST_LIMIT = 3
    settings.TASK_CLEANUP_TIME = 10
    codes = [user_client.post("/get_info", {"url": URL}, format="json") for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    refused = codes[-1]
    assert "Rate limit exceeded" in refused.json()["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 600


@pytest.mark.django_db
def test_the_429_message_says_the_limit_once_with_the_wait(user_client, settings):
    settings.REQUEST_LIMIT = 3
    settings.TASK_CLEANUP_TIME = 10
    for _ in range(3):
        user_client.post("/get_info", {"url": URL}, format="json")
    refused = user_client.post("/get_info", {"url": URL}, format="json")
    wait = int(refused.headers["Retry-After"])
    assert wait in (599, 600)
    assert refused.json() == {
        "error": "Rate limit exceeded: 3 task requests per 10 minutes (to raise it, set the "
        "key's request_limit in the Django admin, or give a new key a higher one at "
        f"/create_key); try again in {wait} seconds"
    }


@pytest.mark.django_db
def test_a_key_without_a_limit_is_never_refused_and_gets_no_ratelimit_headers(
    make_key, client_for, settings
):
    settings.REQUEST_LIMIT = 1
    _, secret = make_key("owner", ["get_info"], request_limit=0)
    client = client_for(secret)
    answers = [client.post("/get_info", {"url": URL}, format="json") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not any("RateLimit-Limit" in a.headers for a in answers)
    me = client.get("/me").json()
    assert (me["request_limit"], me["remaining"], me["reset"], me["reset_at"]) == (
        None, None, 0, None,
    )  # fmt: skip


@pytest.mark.django_db
def test_every_task_creating_answer_carries_the_ratelimit_headers(user_client, settings):
    settings.REQUEST_LIMIT = 3
    settings.TASK_CLEANUP_TIME = 10
    answers = [user_client.post("/get_info", {"url": URL}, format="json") for _ in range(4)]
    assert [a.headers["RateLimit-Limit"] for a in answers] == ["3"] * 4
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    resets = [int(a.headers["RateLimit-Reset"]) for a in answers]
    assert all(599 <= reset <= 600 for reset in resets)
    assert answers[-1].headers["RateLimit-Reset"] == answers[-1].headers["Retry-After"]


@pytest.mark.django_db
def test_ratelimit_reset_counts_down_to_when_the_oldest_request_leaves(user_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.REQUEST_LIMIT = 2
    settings.TASK_CLEANUP_TIME = 10
    user_client.post("/get_info", {"url": URL}, format="json")
    TaskRequest.objects.update(created_at=timezone.now() - timedelta(minutes=8))  # counted
    answer = user_client.post("/get_info", {"url": URL}, format="json")
    assert answer.headers["RateLimit-Remaining"] == "0"
    assert 119 <= int(answer.headers["RateLimit-Reset"]) <= 120


@pytest.mark.django_db
def test_polling_and_invalid_requests_do_not_count(user_client, settings):
    settings.REQUEST_LIMIT = 2
    task_id = user_client.post("/get_info", {"url": URL}, format="json").json()["task_id"]
    for _ in range(5):
        assert user_client.get(f"/status/{task_id}").status_code == 200
        assert user_client.post("/get_info", {"url": "nope"}, format="json").status_code == 400
    assert user_client.post("/get_info", {"url": URL}, format="json").status_code == 200


@pytest.mark.django_db
def test_a_key_of_its_own_limit_uses_it(make_key, client_for, settings):
    settings.REQUEST_LIMIT = 1
    _, secret = make_key("generous", ["get_info"], request_limit=3)
    client = client_for(secret)
    codes = [client.post("/get_info", {"url": URL}, format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_each_key_has_its_own_window(make_key, client_for, settings):
    settings.REQUEST_LIMIT = 1
    first = client_for(make_key("first", ["get_info"])[1])
    second = client_for(make_key("second", ["get_info"])[1])
    assert first.post("/get_info", {"url": URL}, format="json").status_code == 200
    assert first.post("/get_info", {"url": URL}, format="json").status_code == 429
    assert second.post("/get_info", {"url": URL}, format="json").status_code == 200


@pytest.mark.django_db
def test_requests_older_than_the_window_no_longer_count(user_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.REQUEST_LIMIT = 1
    user_client.post("/get_info", {"url": URL}, format="json")
    TaskRequest.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    assert user_client.post("/get_info", {"url": URL}, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_accept_exactly_the_limit(make_key, client_for, settings):
    limit = 5
    settings.REQUEST_LIMIT = limit
    _, secret = make_key("racer", ["get_info"])
    codes, start = [], threading.Barrier(3 * limit)

    def request():
        client = client_for(secret)
        start.wait()
        try:
            codes.append(client.post("/get_info", {"url": URL}, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(3 * limit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * limit + [429] * (2 * limit)
    assert Task.objects.count() == limit
