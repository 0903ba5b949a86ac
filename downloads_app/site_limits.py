"""Politeness to each site (sites.py): at most SITE_CONCURRENCY of its tasks at once, and
none while it backs off after refusing one.

A site's limits work as a key's MAX_TASKS_PER_KEY does, through the same claim and
dispatch (slots.py): a claim that the site holds back leaves the task waiting and
`deferred`, with no queue message; the end of one of the site's tasks, or of its backoff,
queues the next (lifecycle.dispatch_next_waiting, maintenance.resume_sites). The site's
row (models.Site) is its lock, as the key's row is the key's: claims and dispatches count
the site's running tasks with it locked.

A task that ends `rate_limited` or `bot_check` (its `error_code`) is a refusal: the site
backs off for the `retry_after` the site sent, else for SITE_BACKOFF_SECONDS doubled at
each refusal in a row, either cut to SITE_BACKOFF_MAX; a completed task ends the row of
refusals.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from downloads_app.errors import DEFAULT_RETRY_AFTER, ErrorCode
from downloads_app.models import Site, Task, TaskStatus
from downloads_app.sites import site_cap

logger = logging.getLogger("ytdlphost.tasks")

# The error codes of a site refusing us, rather than a task failing on its own.
REFUSALS = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.BOT_CHECK})


def lock_site(site: str, create: bool) -> Site | None:
    """The site's row, locked until the transaction ends; written first when `create`
    (and missing), else None when there is none.

    Call it in a transaction. Without a row there is nothing to lock: a site without a
    cap needs one only once it backs off (record_refusal writes it).
    """
    if create:
        Site.objects.bulk_create([Site(name=site)], ignore_conflicts=True)
    return Site.objects.select_for_update().filter(name=site).first()


def running_on(site: str) -> int:
    return Task.objects.running().filter(site=site).count()


def backing_off(row: Site | None, now: datetime) -> bool:
    return row is not None and row.backoff_until is not None and row.backoff_until > now


def site_hold(site: str, now: datetime) -> str | None:
    """Why a task of the site may not start now (it backs off, or runs its
    SITE_CONCURRENCY tasks already), or None when it may.

    For task_claim, in the transaction that then claims the task or marks it deferred:
    the site's row stays locked until then.
    """
    if not site:
        return None
    cap = site_cap(site)
    row = lock_site(site, create=cap is not None)
    if backing_off(row, now):
        until = row.backoff_until.isoformat(timespec="seconds")
        return f"its site {site} backs off until {until} after refusing a task"
    if cap is not None and running_on(site) >= cap:
        return f"its site {site} runs {cap} tasks already (SITE_CONCURRENCY)"
    return None


def open_slots(site: str, now: datetime) -> int | None:
    """How many more of the site's tasks may start now: 0 while it backs off, None when
    no cap applies. For a dispatch, in its transaction: the site's row stays locked, as
    in site_hold, so a claim deferring at this moment has marked its task before the
    dispatch looks for it. A backoff seen ended is cleared here, once."""
    cap = site_cap(site)
    row = lock_site(site, create=cap is not None)
    if backing_off(row, now):
        return 0
    if row is not None and row.backoff_until is not None:
        Site.objects.filter(name=site).update(backoff_until=None)
    return None if cap is None else max(cap - running_on(site), 0)


def unlocked_room(site: str) -> int | None:
    """open_slots as it reads now without the site's lock (a hint for choosing among
    deferred tasks; the claim decides under the lock). None: no cap."""
    cap = site_cap(site)
    return None if cap is None else cap - running_on(site)


def backing_off_now(now: datetime):
    """The names of the sites backing off, as a subquery."""
    return Site.objects.filter(backoff_until__gt=now).values("name")


def backoff_seconds(refusals: int, retry_after: float | None) -> float:
    """How long a site backs off after its `refusals`-th refusal in a row."""
    if retry_after is not None:
        wanted = max(retry_after, 0.0)
    else:
        # SITE_BACKOFF_SECONDS, doubled per refusal in a row (the exponent bounded, so a
        # long run of refusals cannot overflow before the cut).
        wanted = settings.SITE_BACKOFF_SECONDS * 2 ** min(max(refusals - 1, 0), 40)
    return min(wanted, settings.SITE_BACKOFF_MAX)


def record_refusal(site: str, retry_after: float | None, now: datetime) -> Site:
    """The site refused a task: back off from now (the site's row, updated).

    A refusal while the site backs off already (a task that had started before) is not
    one more in a row; it may only make the backoff end later.
    """
    row = lock_site(site, create=True)
    already = backing_off(row, now)
    if not already:
        row.refusals += 1
    until = now + timedelta(seconds=backoff_seconds(row.refusals, retry_after))
    row.backoff_until = max(until, row.backoff_until) if already else until
    row.refused_at = now
    row.save()
    logger.warning(
        "site %s refused a task (%d in a row): its tasks wait until %s",
        site, row.refusals, row.backoff_until.isoformat(timespec="seconds"),
        extra={"site": site, "refusals": row.refusals},
    )  # fmt: skip
    return row


def task_ended(task: Task, now: datetime) -> None:
    """What a task's end tells of its site, recorded in the transaction that ends it: a
    refusal backs the site off, a completion ends its refusals in a row."""
    if task.status == TaskStatus.COMPLETED:
        record_completion(task.site)
    elif task.error_code in REFUSALS and task.site:
        record_refusal(task.site, sites_own_wait(task), now)


def sites_own_wait(task: Task) -> int | None:
    """The seconds the site itself said to wait (its Retry-After, or its words), or None.
    A task's `retry_after` is that, else what its code implies (errors.DEFAULT_RETRY_AFTER:
    a minute for `rate_limited`), which is the start of the backoff and not the site's
    word: the doubling applies then. (A site that says exactly that minute is doubled
    too, which only waits longer than it asked.)"""
    if task.retry_after == DEFAULT_RETRY_AFTER.get(task.error_code):
        return None
    return task.retry_after


def record_completion(site: str) -> None:
    """A task of the site completed: its refusals no longer run in a row."""
    Site.objects.filter(name=site, refusals__gt=0).update(refusals=0)


def backoffs(now: datetime | None = None) -> list[dict]:
    """The sites backing off now, soonest to resume first: for /healthz and /metrics."""
    now = now or timezone.now()
    rows = Site.objects.filter(backoff_until__gt=now).order_by("backoff_until", "name")
    return [
        {"site": row.name, "until": row.backoff_until, "refusals": row.refusals}
        for row in rows
    ]  # fmt: skip


def health_check() -> dict:
    """/healthz's `sites`: which sites back off and until when. Healthy whatever they are:
    a site backing off is the service being polite, not failing."""
    backing = [
        {**backoff, "until": backoff["until"].isoformat(timespec="seconds")}
        for backoff in backoffs()
    ]  # fmt: skip
    return {"ok": True, "backing_off": backing}


def forget_idle_sites(now: datetime) -> int:
    """Delete the rows of sites with no unfinished task, not backing off and with no
    refusal within SITE_BACKOFF_MAX (their refusals in a row start over); how many. A
    claim writes a row again when its site has a cap."""
    quiet_since = now - timedelta(seconds=settings.SITE_BACKOFF_MAX)
    unfinished = Task.objects.filter(status__in=[TaskStatus.WAITING, TaskStatus.PROCESSING])
    idle = Site.objects.filter(
        Q(backoff_until__isnull=True) | Q(backoff_until__lte=now),
        Q(refused_at__isnull=True) | Q(refused_at__lt=quiet_since),
    ).exclude(name__in=unfinished.values("site"))
    return idle.delete()[0]
