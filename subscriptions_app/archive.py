"""A subscription's archive: the entries it has listed (SubscriptionEntry), the tasks it
starts for those it has not downloaded, and what their ends make of them."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from downloads_app import lifecycle
from downloads_app.models import TITLE_MAX_LENGTH, Task, TaskStatus
from downloads_app.serializers import task_fields
from downloads_app.ytdlp import PlaylistEntry
from subscriptions_app import notify
from subscriptions_app.models import EntryState, Subscription, SubscriptionEntry
from subscriptions_app.serializers import task_request

logger = logging.getLogger("ytdlphost.subscriptions")


def record_listing(subscription: Subscription, entries: list[PlaylistEntry], backfill=None) -> int:
    """Add the entries the archive has not seen to it, as to download; returns how many.
    At subscribing (`backfill` given), only the first `backfill` are to download, the
    others are only remembered. An entry seen before, wherever it is listed now, is left
    as it is."""
    known = set(
        subscription.entries.filter(
            archive_id__in=[entry.archive_id for entry in entries]
        ).values_list("archive_id", flat=True)
    )
    new, seen = [], set()
    for entry in entries:
        if entry.archive_id in known or entry.archive_id in seen:
            continue
        seen.add(entry.archive_id)
        state = EntryState.PENDING
        if backfill is not None and len(new) >= backfill:
            state = EntryState.SKIPPED
        new.append(
            SubscriptionEntry(
                subscription=subscription, archive_id=entry.archive_id, url=entry.url,
                title=entry.title[:TITLE_MAX_LENGTH], state=state,
            )
        )  # fmt: skip
    # ignore_conflicts: a check and a subscribing racing on one entry keep one row.
    SubscriptionEntry.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def due_entries(subscription: Subscription):
    """Its entries to start now, oldest seen first: new ones, and failed ones with
    attempts left (SUBSCRIPTION_ENTRY_ATTEMPTS)."""
    retried = Q(state=EntryState.FAILED, attempts__lt=settings.SUBSCRIPTION_ENTRY_ATTEMPTS)
    return subscription.entries.filter(Q(state=EntryState.PENDING) | retried).order_by(
        "first_seen_at", "id"
    )


def start_due_entries(subscription: Subscription) -> list[Task]:
    """A task for each due entry, as many as its key's rate limit allows now
    (lifecycle.tasks_start_what_fits); the rest wait for the next check. Returns the
    tasks started."""
    with transaction.atomic():
        # Its row locked: deleted meanwhile, it starts nothing (and a delete waits for
        # these tasks, then leaves them to their own cleanup).
        if not Subscription.objects.select_for_update().filter(pk=subscription.pk).exists():
            return []
        entries = list(due_entries(subscription).select_for_update())
        fields = task_fields(task_request(subscription)) if entries else {}
        tasks = [entry_task(subscription, entry, fields) for entry in entries]
        created = {
            task.id: task for task in lifecycle.tasks_start_what_fits(subscription.api_key, tasks)
        }
        started = []
        for entry, task in zip(entries, tasks, strict=True):
            if task.id not in created:
                continue
            entry.task_id, entry.attempts = task.id, entry.attempts + 1
            entry.state = (
                EntryState.STARTED if task.status == TaskStatus.WAITING else EntryState.FAILED
            )
            started.append(entry)
        SubscriptionEntry.objects.bulk_update(started, ["task_id", "attempts", "state"])
    if entries:
        logger.info(
            "subscription %s started %d of %d due entries", subscription.id, len(started),
            len(entries), extra={"subscription_id": subscription.id},
        )  # fmt: skip
    return list(created.values())


def entry_task(subscription: Subscription, entry: SubscriptionEntry, fields: dict) -> Task:
    """The (unsaved) task that downloads the entry: the Task fields of the subscription's
    request (serializers.task_request, as a request's), with the entry's URL."""
    return Task(
        api_key=subscription.api_key,
        task_type=subscription.task_type,
        subscription=subscription,
        title=entry.title,
        **{**fields, "url": entry.url},
    )


def record_task_end(sender, task: Task, **kwargs) -> None:
    """downloads_app.signals.task_ended: a subscription's task ended; its entry is
    downloaded or failed (retried by the next checks while it has attempts left), and the
    operator is told (notify.py)."""
    if not task.subscription_id:
        return
    completed = task.status == TaskStatus.COMPLETED
    SubscriptionEntry.objects.filter(subscription_id=task.subscription_id, task_id=task.id).update(
        state=EntryState.DOWNLOADED if completed else EntryState.FAILED
    )
    title = task.title or task.url
    if completed:
        notify.queue("downloaded", f"downloaded: {title}", task.url)
    elif not task.cancelled:
        notify.queue("failed", f"failed: {title}", f"{task.error} ({task.url})")


def with_counts(subscriptions: list[Subscription]) -> list[Subscription]:
    """The subscriptions, each with `counts`: its entries by state, and `seen` in all,
    read in one query."""
    counts = {
        subscription.id: {"seen": 0, **dict.fromkeys(EntryState.values, 0)}
        for subscription in subscriptions
    }
    rows = (
        SubscriptionEntry.objects.filter(subscription_id__in=counts)
        .order_by()
        .values_list("subscription_id", "state")
        .annotate(count=Count("id"))
    )
    for subscription_id, state, count in rows:
        counts[subscription_id][state] = count
        counts[subscription_id]["seen"] += count
    for subscription in subscriptions:
        subscription.counts = counts[subscription.id]
    return subscriptions
