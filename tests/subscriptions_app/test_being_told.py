"""Being told: a subscription's task, run for real (sync django-q2, yt-dlp on 127.0.0.1),
announces its end with the usual signed webhook, and the operator hears of it through
Apprise (its json:// to a receiver on 127.0.0.1)."""

import json

import pytest

from downloads_app.models import Task
from subscriptions_app import notify
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def notified(settings):
    """Apprise's JSON POSTs, received on 127.0.0.1."""
    with Receiver() as running:
        settings.NOTIFY_URLS = f"json://127.0.0.1:{running.port}/notify"
        settings.NOTIFY_ON = ["downloaded", "failed", "paused"]
        yield running


def test_a_subscriptions_task_is_announced_signed_and_the_operator_is_told(
    feed, subscribe, subscriber, receiver, notified
):
    feed.show("one")
    body = subscribe(feed.url, backfill=1, webhook_url=receiver.url)
    [task] = Task.objects.filter(subscription_id=body["subscription_id"])
    assert task.status == "completed", task.error
    event = receiver.wait_for(1)[0].verified(subscriber[0].webhook_secret)
    assert event["type"] == "task.completed"
    assert event["data"]["task_id"] == task.id
    assert event["data"]["subscription"] == body["subscription_id"]
    [message] = [json.loads(request.body) for request in notified.wait_for(1)]
    assert message["title"] == f"downloaded: {task.title}"
    assert message["message"] == task.url


def test_a_failed_task_is_told_when_notify_on_names_failures(
    feed, subscribe, notified, settings, media_server
):
    feed.entry_url = lambda entry: media_server.url(f"gone-{entry}.mp4")
    feed.show("b", "a")
    subscribe(feed.url, backfill=1)
    [message] = [json.loads(request.body) for request in notified.wait_for(1)]
    assert message["title"].startswith("failed: ")
    settings.NOTIFY_ON = ["downloaded"]
    subscribe(feed.url, backfill=1)
    assert len(notified.received) == 1


def test_a_receiver_that_is_down_is_logged_not_raised(settings, caplog):
    settings.NOTIFY_URLS = "json://127.0.0.1:9/down"  # discard: nothing listens
    assert notify.send("downloaded: x", "x") is False
    assert "not every NOTIFY_URLS URL took it" in caplog.text


def test_misconfigured_notifications_fail_the_system_check(settings):
    from subscriptions_app.system_checks import notifications_are_configured

    settings.NOTIFY_ON = ["downloaded", "finished"]
    settings.NOTIFY_URLS = "nosuchservice://x"
    ids = [problem.id for problem in notifications_are_configured(None)]
    assert ids == ["subscriptions_app.E001", "subscriptions_app.E002"]
    settings.NOTIFY_ON, settings.NOTIFY_URLS = ["paused"], "json://127.0.0.1/hook"
    assert notifications_are_configured(None) == []
