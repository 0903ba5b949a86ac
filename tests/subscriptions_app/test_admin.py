"""The admin lists subscriptions with what the API shows, and acts on them as the API does."""

import pytest
from django.contrib.auth.models import User

from downloads_app.models import Task
from subscriptions_app.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(client):
    client.force_login(User.objects.create_superuser("owner", "o@example.com", "pw"))
    return client


def test_the_admin_lists_subscriptions_with_their_counts_and_tasks(
    admin_session, feed, subscribe, queued
):
    feed.show("b", "a")
    body = subscribe(feed.url, backfill=1)
    page = admin_session.get("/admin/subscriptions_app/subscription/")
    assert page.status_code == 200
    for text in (body["subscription_id"], "subscriber", "0 downloaded of 2 seen", "in "):
        assert text.encode() in page.content
    [task] = Task.objects.filter(subscription_id=body["subscription_id"])
    tasks = admin_session.get(
        f"/admin/downloads_app/task/?subscription__id__exact={body['subscription_id']}"
    )
    assert tasks.status_code == 200 and task.id.encode() in tasks.content
    detail = admin_session.get(
        f"/admin/subscriptions_app/subscription/{body['subscription_id']}/change/"
    )
    assert detail.status_code == 200 and feed.entry_url("a").encode() in detail.content


def test_the_admin_pauses_resumes_and_checks_now(
    admin_session, feed, subscribe, queued, django_capture_on_commit_callbacks
):
    feed.show("b", "a")
    body = subscribe(feed.url)
    url = "/admin/subscriptions_app/subscription/"
    selected = {"_selected_action": [body["subscription_id"]]}
    admin_session.post(url, {"action": "pause", **selected})
    assert Subscription.objects.get(pk=body["subscription_id"]).paused
    refused = admin_session.post(url, {"action": "check_now", **selected}, follow=True)
    assert b"paused; resume it first" in refused.content
    admin_session.post(url, {"action": "resume", **selected})
    assert not Subscription.objects.get(pk=body["subscription_id"]).paused
    feed.publish("c")
    with django_capture_on_commit_callbacks(execute=True):
        admin_session.post(url, {"action": "check_now", **selected})
    assert Task.objects.filter(subscription_id=body["subscription_id"]).count() == 1
