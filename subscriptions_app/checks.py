"""A subscription's checks: which are due, the claim that lets one worker of all clusters
check one subscription and list one site at a time, the listing, and its end.

The listing is the playlists' own (ytdlp.list_playlist: flat, at most PLAYLIST_MAX_ITEMS
entries, the first of the list, which for channels and feeds are the newest, every
connection through the SSRF guard); the entries it finds go to the archive
(archive.py), which starts their tasks.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task
from rest_framework.exceptions import ValidationError

from downloads_app import deadline, ytdlp
from downloads_app.errors import DownloadFailed, ErrorCode
from downloads_app.limits import extraction_timeout_message
from subscriptions_app import archive, notify
from subscriptions_app.models import ListingSlot, Subscription
from subscriptions_app.serializers import task_request
from ytdlphost import exceptions
from ytdlphost.errors import flatten_detail

logger = logging.getLogger("ytdlphost.subscriptions")

# Up to this share of the interval is added to each one, so that subscriptions of one
# site made at one moment drift apart instead of listing it together for ever.
JITTER = 0.1


def check_lease() -> timedelta:
    """How long a claim of a check (and of its site's listing) holds: as long as
    django-q2 lets the worker run it, after which the worker is gone and its claim must
    end with it."""
    return timedelta(seconds=settings.Q_CLUSTER["timeout"])


def next_check_at(subscription: Subscription, now):
    spread = random.uniform(0, JITTER)  # noqa: S311  (a spread, not a secret)
    return now + timedelta(seconds=subscription.interval * (1 + spread))


def listing_of(url: str) -> ytdlp.Playlist:
    """The first PLAYLIST_MAX_ITEMS entries of the URL's list (DownloadFailed), listed
    within EXTRACTION_TIMEOUT (downloads_app/deadline.py), as a playlist task's are."""
    limit = settings.PLAYLIST_MAX_ITEMS
    return deadline.call_with_deadline(
        ytdlp.list_playlist, (url, f"1-{limit}", limit),
        settings.EXTRACTION_TIMEOUT, extraction_timeout_message(),
    )  # fmt: skip


def queue_due_checks() -> dict:
    """The every-minute schedule: queue a check of each due subscription (not paused, its
    next_check_at past, no check under way). A check queued twice is claimed once."""
    now = timezone.now()
    due = (
        Subscription.objects.filter(paused=False, next_check_at__lte=now)
        .filter(Q(checking_until__isnull=True) | Q(checking_until__lte=now))
        .values_list("id", flat=True)
    )
    queued = list(due)
    for subscription_id in queued:
        queue_check(subscription_id)
    return {"subscription_checks_queued": len(queued)}


def queue_check(subscription_id: str) -> None:
    async_task(
        "subscriptions_app.tasks.check_subscription", subscription_id,
        task_name=f"check-{subscription_id}",
    )  # fmt: skip


def claim_check(subscription_id: str) -> Subscription | None:
    """Take the due subscription and its site's listing for this worker until the lease
    ends; None when it is not due, paused, checked by another worker, or its site is
    being listed for another subscription (then it stays due, for the next minute's
    schedule).

    Two conditional UPDATEs in one transaction: of the subscription's row (due and not
    held) and of its site's ListingSlot (free, or its own); the second failing rolls the
    first back. On PostgreSQL a concurrent UPDATE of the same row waits for this one, then
    finds its condition false; SQLite's IMMEDIATE transactions run one after the other.
    """
    now = timezone.now()
    until = now + check_lease()
    with transaction.atomic():
        claimed = (
            Subscription.objects.filter(pk=subscription_id, paused=False, next_check_at__lte=now)
            .filter(Q(checking_until__isnull=True) | Q(checking_until__lte=now))
            .update(checking_until=until)
        )
        if not claimed:
            return None
        subscription = Subscription.objects.select_related("api_key").get(pk=subscription_id)
        ListingSlot.objects.get_or_create(site=subscription.site)
        site_free = Q(held_until__isnull=True) | Q(held_until__lte=now) | Q(holder=subscription.id)
        if not ListingSlot.objects.filter(site_free, site=subscription.site).update(
            holder=subscription.id, held_until=until
        ):
            transaction.set_rollback(True)
            logger.info(
                "subscription %s: %s is being listed for another; checked later",
                subscription_id, subscription.site, extra={"subscription_id": subscription_id},
            )  # fmt: skip
            return None
    return subscription


def check(subscription_id: str) -> None:
    """List the subscription, add what is new to its archive, start the due entries
    within the key's rate limit, and record how it went. Nothing happens unless this
    worker claims it (claim_check)."""
    subscription = claim_check(subscription_id)
    if subscription is None:
        return
    error, code = "", ""
    if missing := missing_permissions(subscription):
        # Revoked since subscribing: the key starts no more downloads of it, and the
        # failed checks pause it, saying why.
        error = f"The key no longer holds {' and '.join(missing)}"
        finish_check(subscription, error, ErrorCode.NOT_ALLOWED)
        return
    if refused := refused_request(subscription):
        finish_check(subscription, *refused)
        return
    try:
        playlist = listing_of(subscription.url)
    except DownloadFailed as exc:
        error, code = str(exc), exc.code
    except Exception as exc:  # the worker itself never fails because of a check
        logger.exception("subscription %s: the check failed unexpectedly", subscription_id)
        error, code = f"Internal error: {type(exc).__name__}: {exc}", ErrorCode.INTERNAL
    else:
        new = archive.record_listing(subscription, playlist.entries)
        logger.info(
            "subscription %s listed %d entries, %d new", subscription_id,
            len(playlist.entries), new, extra={"subscription_id": subscription_id},
        )  # fmt: skip
        archive.start_due_entries(subscription)
    finish_check(subscription, error, code, title=None if error else playlist.title)


def missing_permissions(subscription: Subscription) -> list[str]:
    """What the subscription's key needs to start its tasks and lacks now."""
    needed = ("subscribe", subscription.task_type)
    return [name for name in needed if not subscription.api_key.allows(name)]


def refused_request(subscription: Subscription) -> tuple[str, str] | None:
    """(why, error code) when its tasks' request is refused now, as a request would be
    (its preset deleted, changed to another type or beyond the key); None when it is
    not. Checked before listing: a check that could start nothing lists nothing."""
    try:
        task_request(subscription)
    except exceptions.NotPermitted as exc:
        return f"Its tasks cannot start: {exc}", ErrorCode.NOT_ALLOWED
    except exceptions.ServiceError as exc:
        return f"Its tasks cannot start: {exc}", ErrorCode.INVALID_REQUEST
    except ValidationError as exc:
        detail = flatten_detail(exc.detail)
        return f"Its tasks cannot start: {detail}", ErrorCode.INVALID_REQUEST
    return None


def finish_check(subscription: Subscription, error: str, code: str, title=None) -> None:
    """Record the check's end and free its claims: when it ran, when the next one is due,
    its error; SUBSCRIPTION_MAX_FAILED_CHECKS failures in a row pause it, saying why."""
    now = timezone.now()
    failed_checks = subscription.failed_checks + 1 if error else 0
    fields = {
        "checking_until": None,
        "last_checked_at": now,
        "next_check_at": next_check_at(subscription, now),
        "last_error": error,
        "last_error_code": code,
        "failed_checks": failed_checks,
    }
    if title:
        fields["title"] = title[: Subscription._meta.get_field("title").max_length]
    pausing = failed_checks >= settings.SUBSCRIPTION_MAX_FAILED_CHECKS
    if pausing:
        fields["paused"] = True
        fields["paused_reason"] = f"Paused after {failed_checks} failed checks in a row: {error}"
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(**fields)
        ListingSlot.objects.filter(site=subscription.site, holder=subscription.id).update(
            holder="", held_until=None
        )
        if pausing:
            notify.queue("paused", f"subscription paused: {subscription.url}", error)
        elif error:
            notify.queue("check_failed", f"check failed: {subscription.url}", error)
    if error:
        logger.warning(
            "subscription %s: the check failed (%d in a row): %s [%s]", subscription.id,
            failed_checks, error, code, extra={"subscription_id": subscription.id},
        )  # fmt: skip
