"""Webhooks in-process: real tasks (yt-dlp against media on 127.0.0.1) whose end is
announced to a receiver on 127.0.0.1; django-q2 in sync mode sends each delivery in this
process once the task's status is committed."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from downloads_app import maintenance, webhook_events, webhooks
from downloads_app.models import Task, TaskStatus, WebhookDelivery
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 0.05
    settings.WEBHOOK_TIMEOUT = 2.0
    settings.WEBHOOK_MAX_ATTEMPTS = 3


def test_a_completed_task_is_announced_signed_with_its_status(
    run_task, user, user_client, receiver, progressive_url
):
    task, status = run_task("/get_info", {"url": progressive_url, "webhook_url": receiver.url})
    [request] = receiver.wait_for(1)
    event = request.verified(user[0].webhook_secret)
    assert event["type"] == "task.completed"
    assert event["data"]["task_id"] == task.id
    assert event["data"]["file"] == f"/files/{task.id}/info.json"
    assert {k: v for k, v in status.items() if k != "webhook"} == event["data"]
    assert request.headers["webhook-id"].startswith("msg_")
    assert user_client.get(f"/status/{task.id}").json()["webhook"] == {
        "state": "delivered",
        "attempts": 1,
    }


def test_a_failed_task_is_announced_as_task_failed(run_task, user, receiver, media_server):
    missing = media_server.url("no-such-video.mp4")
    task, status = run_task("/get_info", {"url": missing, "webhook_url": receiver.url})
    assert status["status"] == "error"
    event = receiver.wait_for(1)[0].verified(user[0].webhook_secret)
    assert event["type"] == "task.failed"
    assert event["data"]["error"] == task.error
    assert (event["data"]["error_code"], event["data"]["retry_after"]) == ("not_found", None)


def test_the_keys_default_webhook_url_is_used_when_a_task_names_none(
    run_task, make_key, client_for, receiver, progressive_url
):
    api_key, secret = make_key("hooked", ["get_info"], webhook_url=receiver.url)
    task, _ = run_task("/get_info", {"url": progressive_url}, client=client_for(secret))
    event = receiver.wait_for(1)[0].verified(api_key.webhook_secret)
    assert event["data"]["task_id"] == task.id


def test_a_task_without_a_webhook_url_shows_no_webhook(run_task, progressive_url):
    task, status = run_task("/get_info", {"url": progressive_url})
    assert "webhook" not in status
    assert not WebhookDelivery.objects.filter(task_id=task.id).exists()


def test_a_receiver_that_keeps_failing_is_retried_with_one_id_until_it_fails(
    run_task, user_client, fast_retries, progressive_url
):
    with Receiver(statuses=[500]) as failing:
        task, _ = run_task("/get_info", {"url": progressive_url, "webhook_url": failing.url})
        requests = failing.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert user_client.get(f"/status/{task.id}").json()["webhook"] == {
        "state": "failed",
        "attempts": 3,
    }
    delivery = WebhookDelivery.objects.get(task_id=task.id)
    assert [(a.number, a.status_code, a.error) for a in delivery.tries.all()] == [
        (1, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (3, 500, "HTTP 500"),
    ]


def test_retries_wait_longer_each_time(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 60
    waits = [webhooks.backoff(n).total_seconds() for n in range(1, 7)]
    assert waits == [60, 120, 240, 480, 960, 1920]


def test_a_receiver_that_never_answers_is_cut_off_at_the_timeout(
    run_task, settings, progressive_url
):
    settings.WEBHOOK_TIMEOUT = 0.5
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    with Receiver(silent=True) as silent:
        task, _ = run_task("/get_info", {"url": progressive_url, "webhook_url": silent.url})
    [attempt] = WebhookDelivery.objects.get(task_id=task.id).tries.all()
    # Cut off by the deadline (the receiver never answers), not given up on before it; how
    # promptly under load is tests/e2e/test_webhooks.py's generous bound.
    assert "WEBHOOK_TIMEOUT" in attempt.error
    assert attempt.duration >= settings.WEBHOOK_TIMEOUT


def test_redirects_are_not_followed(run_task, fast_retries, progressive_url):
    with Receiver() as target, Receiver([302], headers={"Location": target.url}) as redirecting:
        task, _ = run_task("/get_info", {"url": progressive_url, "webhook_url": redirecting.url})
        redirecting.wait_for(3)
        assert target.received == []
    delivery = WebhookDelivery.objects.get(task_id=task.id)
    assert delivery.state == "failed"
    assert "redirects are not followed" in delivery.tries.first().error


def test_a_connection_to_a_private_address_is_refused_when_sending(user, receiver, settings):
    # Accepted once (a DNS answer that changed since, a policy tightened since): the
    # connection itself is checked.
    settings.ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    delivery = WebhookDelivery.objects.create(
        api_key=user[0], task_id="t", event_type="task.completed", url=receiver.url,
        payload="{}", next_attempt_at=timezone.now(),
    )  # fmt: skip
    webhooks.deliver(delivery.id)
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert "private" in delivery.tries.get().error
    assert receiver.received == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "must be an http or https URL"),
        ("http://127.0.0.1:9/hook", "ALLOW_PRIVATE_URLS"),
        ("nonsense", "must be an http or https URL"),
    ],
)
def test_a_webhook_url_is_checked_like_task_urls_at_submission(user_client, settings, url, reason):
    settings.ALLOW_PRIVATE_URLS = False
    response = user_client.post(
        "/get_info", {"url": "http://93.184.215.14/v", "webhook_url": url}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("webhook_url")
    assert reason in response.json()["error"]
    assert not Task.objects.exists()


def test_a_delivery_is_attempted_once_even_when_queued_twice(user, receiver):
    delivery = WebhookDelivery.objects.create(
        api_key=user[0], task_id="t", event_type="task.completed", url=receiver.url,
        payload="{}", next_attempt_at=timezone.now(),
    )  # fmt: skip
    webhooks.deliver(delivery.id)
    webhooks.deliver(delivery.id)
    assert len(receiver.received) == 1


def test_a_task_failed_by_recovery_is_announced(user, receiver):
    now = timezone.now()
    task = Task.objects.create(
        api_key=user[0], task_type="get_info", url="http://e.com/v", status="processing",
        attempts=2, started_at=now, heartbeat_at=now - timedelta(hours=1), worker="gone:1",
        webhook_url=receiver.url,
    )  # fmt: skip
    maintenance.task_recover_interrupted()
    delivery = WebhookDelivery.objects.get(task_id=task.id)
    body = json.loads(delivery.payload)
    assert (body["type"], body["data"]["status"]) == ("task.failed", "error")
    assert "interrupted" in body["data"]["error"]


def test_a_cancelled_task_is_announced_as_task_cancelled():
    task = Task(status=TaskStatus.ERROR, error="Cancelled")
    task.cancelled = True  # as the cancel feature of issue 11 marks it
    assert webhook_events.event_type(task) == "task.cancelled"


@pytest.fixture
def queued_deliveries(monkeypatch):
    """The delivery ids sent to the queue (nothing is sent); conftest's `queued` is the
    task ids."""
    ids = []
    monkeypatch.setattr(
        webhook_events, "async_task", lambda func, delivery_id, **kw: ids.append(delivery_id)
    )
    return ids


def test_the_maintenance_queues_due_deliveries_without_a_message_out(user, queued_deliveries):
    now = timezone.now()

    def delivery(**fields):
        return WebhookDelivery.objects.create(
            api_key=user[0], task_id="t", event_type="task.completed", url="http://e.com/",
            payload="{}", **fields,
        )  # fmt: skip

    due = delivery(next_attempt_at=now - timedelta(seconds=1))
    lost = delivery(next_attempt_at=now - timedelta(hours=1), queued_at=now - timedelta(hours=1))
    delivery(next_attempt_at=now - timedelta(seconds=1), queued_at=now)  # its message is out
    delivery(next_attempt_at=now + timedelta(minutes=5))  # not yet due
    delivery(state="delivered")
    assert webhooks.maintain()["webhooks_queued"] == 2
    assert sorted(queued_deliveries) == sorted([due.id, lost.id])


def test_the_maintenance_deletes_deliveries_ended_long_ago(user, settings, queued_deliveries):
    settings.TASK_CLEANUP_TIME = 10
    old = timezone.now() - timedelta(minutes=11)
    WebhookDelivery.objects.create(
        api_key=user[0], task_id="t", event_type="task.completed", url="http://e.com/",
        payload="{}", state="delivered", finished_at=old,
    )  # fmt: skip
    pending = WebhookDelivery.objects.create(
        api_key=user[0], task_id="t", event_type="task.completed", url="http://e.com/",
        payload="{}", next_attempt_at=old,
    )  # fmt: skip
    assert webhooks.maintain()["webhooks_deleted"] == 1
    assert list(WebhookDelivery.objects.all()) == [pending]
