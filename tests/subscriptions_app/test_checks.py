"""Subscriptions checked in-process: real yt-dlp lists an RSS feed and an HTML page on
127.0.0.1 that gain entries between checks; the tasks it starts are queued, not run
(test_being_told.py runs them)."""

import threading

import pytest
from django.db import connections
from django.utils import timezone

from downloads_app import lifecycle
from downloads_app.models import Task
from subscriptions_app import checks
from subscriptions_app.models import EntryState, ListingSlot, Subscription, SubscriptionEntry

pytestmark = pytest.mark.django_db


def started(subscription_id):
    return list(Task.objects.filter(subscription_id=subscription_id).order_by("created_at", "id"))


def test_backfill_0_starts_nothing_and_a_new_entry_starts_exactly_one_task(
    feed, subscribe, check, queued, subscriber_client
):
    feed.show("two", "one")
    body = subscribe(feed.url)
    assert body["title"] == "A channel"
    assert body["counts"]["seen"] == 2 and body["counts"]["skipped"] == 2
    assert started(body["subscription_id"]) == []

    feed.publish("three")
    check(body["subscription_id"])
    [task] = started(body["subscription_id"])
    assert task.url == feed.entry_url("three")
    assert task.task_type == "get_video" and task.id in queued

    check(body["subscription_id"])  # nothing new
    assert len(started(body["subscription_id"])) == 1
    listed = subscriber_client.get(f"/tasks?subscription={body['subscription_id']}").json()
    assert [t["task_id"] for t in listed["tasks"]] == [task.id]
    assert listed["tasks"][0]["subscription"] == body["subscription_id"]
    shown = subscriber_client.get(f"/subscriptions/{body['subscription_id']}").json()
    assert shown["counts"] == {
        "seen": 3, "downloaded": 0, "started": 1, "pending": 0, "failed": 0, "skipped": 2,
    }  # fmt: skip
    assert shown["last_checked_at"] and shown["next_check_at"] > shown["last_checked_at"]
    assert shown["last_error"] is None and shown["error_code"] is None


def test_backfill_starts_the_first_entries_of_the_list(page, subscribe, queued):
    page.show("newest", "older", "oldest")
    body = subscribe(page.url, backfill=2)
    urls = {task.url for task in started(body["subscription_id"])}
    assert urls == {page.entry_url("newest"), page.entry_url("older")}
    assert body["counts"]["started"] == 2 and body["counts"]["skipped"] == 1


def test_an_entry_that_moved_in_the_list_is_not_downloaded_again(page, subscribe, check, queued):
    page.show("b", "a")
    body = subscribe(page.url, backfill=2)
    assert len(started(body["subscription_id"])) == 2
    # A new entry on top moves every other down; one is removed, one comes back later.
    page.show("c", "a", "b")
    check(body["subscription_id"])
    assert [t.url for t in started(body["subscription_id"])][2:] == [page.entry_url("c")]
    page.show("b")
    page.show("c", "b", "a")
    check(body["subscription_id"])
    assert len(started(body["subscription_id"])) == 3


def test_the_archive_outlives_the_tasks(feed, subscribe, check):
    feed.show("one")
    body = subscribe(feed.url, backfill=1)  # its task runs (sync django-q2)
    [task] = started(body["subscription_id"])
    assert task.status == "completed", task.error
    lifecycle.task_delete(task.id)  # as cleanup would, long before the next check
    check(body["subscription_id"])
    assert started(body["subscription_id"]) == []
    entry = SubscriptionEntry.objects.get(subscription_id=body["subscription_id"])
    assert (entry.state, entry.attempts) == (EntryState.DOWNLOADED, 1)


def test_a_failed_entry_is_retried_by_the_next_checks_a_bounded_number_of_times(
    feed, subscribe, check, queued, settings
):
    settings.SUBSCRIPTION_ENTRY_ATTEMPTS = 2
    feed.show("one")
    body = subscribe(feed.url, backfill=1)
    for _ in range(2):
        [task] = [t for t in started(body["subscription_id"]) if t.status == "waiting"]
        lifecycle.task_cancel(task.id)  # it ends as failed (cancelled)
        check(body["subscription_id"])
    check(body["subscription_id"])
    tasks = started(body["subscription_id"])
    assert [t.status for t in tasks] == ["error", "error"]
    entry = SubscriptionEntry.objects.get(subscription_id=body["subscription_id"])
    assert (entry.state, entry.attempts) == (EntryState.FAILED, 2)


def test_a_check_starts_what_the_rate_limit_allows_and_leaves_the_rest(
    feed, subscribe, check, queued, make_key, client_for
):
    _, secret = make_key("limited", ["subscribe", "get_video"], request_limit=2)
    feed.show("c", "b", "a")
    body = subscribe(feed.url, client=client_for(secret), backfill=3)
    assert len(started(body["subscription_id"])) == 2
    assert body["counts"]["pending"] == 1
    check(body["subscription_id"])  # the window is still full
    assert len(started(body["subscription_id"])) == 2


@pytest.mark.django_db(transaction=True)
def test_two_clusters_check_a_due_subscription_once(feed, subscribe, queued):
    feed.show("one")
    body = subscribe(feed.url)
    Subscription.objects.filter(pk=body["subscription_id"]).update(next_check_at=timezone.now())
    claims = []
    barrier = threading.Barrier(2)

    def claim():
        barrier.wait()
        try:
            claims.append(checks.claim_check(body["subscription_id"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claim is None for claim in claims) == [False, True]


def test_one_site_is_listed_for_one_subscription_at_a_time(feed, page, subscribe, queued):
    feed.show("one")
    page.show("two", "one")  # a page of one video is that video, not a list
    first, second = subscribe(feed.url), subscribe(page.url)  # both on 127.0.0.1
    Subscription.objects.update(next_check_at=timezone.now())
    assert checks.claim_check(first["subscription_id"]) is not None
    assert checks.claim_check(second["subscription_id"]) is None  # the site is busy
    assert Subscription.objects.get(pk=second["subscription_id"]).checking_until is None
    checks.finish_check(Subscription.objects.get(pk=first["subscription_id"]), "", "")
    assert ListingSlot.objects.get(site="127.0.0.1").holder == ""
    assert checks.claim_check(second["subscription_id"]) is not None


def test_failing_checks_pause_the_subscription_saying_why(feed, subscribe, check, settings):
    settings.SUBSCRIPTION_MAX_FAILED_CHECKS = 2
    feed.show("one")
    body = subscribe(feed.url)
    (feed.server.root / feed.name).unlink()
    first = check(body["subscription_id"])
    assert (first.paused, first.failed_checks) == (False, 1)
    assert first.last_error and first.last_error_code
    second = check(body["subscription_id"])
    assert second.paused
    assert second.paused_reason.startswith("Paused after 2 failed checks in a row: ")
    assert checks.claim_check(body["subscription_id"]) is None  # paused: never checked


def test_the_schedule_queues_only_due_subscriptions(feed, subscribe, monkeypatch):
    feed.show("one")
    due, _ = subscribe(feed.url), subscribe(feed.url)
    Subscription.objects.filter(pk=due["subscription_id"]).update(next_check_at=timezone.now())
    queued_checks = []
    monkeypatch.setattr(checks, "queue_check", queued_checks.append)
    assert checks.queue_due_checks() == {"subscription_checks_queued": 1}
    assert queued_checks == [due["subscription_id"]]


def test_a_key_whose_permission_was_revoked_starts_nothing_and_is_told_why(
    feed, subscribe, check, subscriber, queued
):
    feed.show("one")
    body = subscribe(feed.url)
    api_key = subscriber[0]
    api_key.permissions = ["subscribe"]
    api_key.save()
    feed.publish("two")
    checked = check(body["subscription_id"])
    assert started(body["subscription_id"]) == []
    assert checked.last_error == "The key no longer holds get_video"
    assert checked.last_error_code == "not_allowed"
