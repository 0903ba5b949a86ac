"""A key's subscriptions: subscribe (listing the URL once), change, check now, delete.
Called by the views and the admin."""

import logging
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from downloads_app.errors import DownloadFailed
from keys_app.models import APIKey
from subscriptions_app import archive, checks
from subscriptions_app.models import Subscription
from ytdlphost import exceptions

logger = logging.getLogger("ytdlphost.subscriptions")


def subscribe(api_key: APIKey, fields: dict, backfill: int) -> Subscription:
    """A new subscription of the key, its URL listed once now: a URL that lists nothing
    is refused (400, saying why). Every entry listed is remembered; the first `backfill`
    (the newest, for channels and feeds) are started now, as far as the rate limit
    allows, and the rest of them never."""
    try:
        playlist = checks.listing_of(fields["url"])
    except DownloadFailed as exc:
        raise exceptions.Invalid("url", f"nothing to subscribe to: {exc}") from None
    now = timezone.now()
    with transaction.atomic():
        subscription = Subscription(
            api_key=api_key,
            site=(urlsplit(fields["url"]).hostname or "").lower(),
            title=playlist.title[: Subscription._meta.get_field("title").max_length],
            last_checked_at=now,
            **fields,
        )
        subscription.next_check_at = checks.next_check_at(subscription, now)
        subscription.save(force_insert=True)
        archive.record_listing(subscription, playlist.entries, backfill=backfill)
        archive.start_due_entries(subscription)
    logger.info(
        "subscription %s created: %s for key %s, %d entries listed", subscription.id,
        subscription.url, api_key.name, len(playlist.entries),
        extra={"subscription_id": subscription.id, "key_name": api_key.name},
    )  # fmt: skip
    return subscription


def change(subscription: Subscription, fields: dict) -> Subscription:
    """Set the given fields (interval, formats, paused). A new interval counts from the
    last check; resuming forgets the failures that paused it."""
    for name, value in fields.items():
        setattr(subscription, name, value)
    if "interval" in fields:
        since = subscription.last_checked_at or timezone.now()
        subscription.next_check_at = checks.next_check_at(subscription, since)
    if fields.get("paused") is False:
        subscription.paused_reason, subscription.failed_checks = "", 0
    subscription.save()
    return subscription


def check_now(subscription: Subscription) -> Subscription:
    """Make it due now and queue its check (claimed as any other: checks.claim_check)."""
    if subscription.paused:
        raise exceptions.Conflict("The subscription is paused; resume it first")
    Subscription.objects.filter(pk=subscription.pk).update(next_check_at=timezone.now())
    transaction.on_commit(lambda: checks.queue_check(subscription.id))
    subscription.refresh_from_db()
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    """Delete it with its archive; its tasks stay until their own cleanup."""
    subscription.delete()
