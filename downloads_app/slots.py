"""How many tasks run at once: a key's MAX_TASKS_PER_KEY, a site's SITE_CONCURRENCY and
backoff (site_limits.py), and which deferred task a slot that frees goes to.

A claim (lifecycle.task_claim) asks `hold` whether the task may start; one held back is
marked `deferred` and has no queue message. When a task of the key or of the site ends,
lifecycle.dispatch_next_waiting queues what these choose (freed_for_key,
freed_for_site). Each side counts with its row locked, the key's before the site's, so
two workers on two clusters cannot both take a last slot, and a claim deferring at the
moment a slot frees either sees that slot or has marked its task before it is looked for
(PostgreSQL: the second waits for the lock, then counts again; SQLite: IMMEDIATE
transactions run one after another).
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from downloads_app import site_limits, webhook_events
from downloads_app.models import Task, TaskStatus
from keys_app.models import APIKey


def hold(api_key_id: int, site: str, now) -> str | None:
    """Why a task of this key and site may not start now, or None; for a claim, in the
    transaction that then claims the task or marks it deferred."""
    if free_slots(api_key_id) <= 0:
        return f"its key runs {settings.MAX_TASKS_PER_KEY} tasks already (MAX_TASKS_PER_KEY)"
    return site_limits.site_hold(site, now)


def running_count(api_key_id: int) -> int:
    """The key's tasks taking a worker now (Task.objects.running), and its webhook
    deliveries being attempted (each takes a worker too, up to WEBHOOK_TIMEOUT:
    webhooks.Lease)."""
    tasks = Task.objects.running().filter(api_key_id=api_key_id).count()
    return tasks + webhook_events.attempts_under_way(api_key_id).count()


def free_slots(api_key_id: int) -> int:
    """How many more tasks and webhook attempts the key may run now (MAX_TASKS_PER_KEY).

    Call it in a transaction that then takes a slot or marks what it defers: the key's row
    is locked until it ends.
    """
    APIKey.objects.select_for_update().filter(pk=api_key_id).first()
    return settings.MAX_TASKS_PER_KEY - running_count(api_key_id)


def deferred_tasks():
    return Task.objects.filter(status=TaskStatus.WAITING, deferred=True)


def freed_for_key(api_key_id: int) -> tuple[list, list[str]]:
    """What the key's free slots go to: its due webhook deliveries first (each ends within
    WEBHOOK_TIMEOUT), then its oldest deferred tasks that their sites let start; the
    deliveries (id, attempts) and the task ids, to queue once this has committed."""
    now = timezone.now()
    with transaction.atomic():
        free = free_slots(api_key_id)
        deliveries = list(webhook_events.waiting_for_a_slot(api_key_id)[: max(free, 0)])
        free -= len(deliveries)
        task_ids = choose_startable(deferred_tasks().filter(api_key_id=api_key_id), free, now)
    return deliveries, task_ids


def freed_for_site(site: str) -> list[str]:
    """The site's oldest deferred tasks that its free slots (all of them, without a cap)
    and their keys let start, none while it backs off; to queue once this has committed."""
    now = timezone.now()
    with transaction.atomic():
        free = site_limits.open_slots(site, now)
        return choose_startable(deferred_tasks().filter(site=site), free, now)


def choose_startable(deferred, free: int | None, now) -> list[str]:
    """The oldest of these deferred tasks, at most `free` (None: any number), that their
    key and their site would let start now; marked no longer deferred, for the caller to
    queue once committed.

    The other side's slots are read without its lock: this only keeps a slot that freed
    from going to a task that the other side still holds back (a key's slot to a task of a
    full site, a site's to a task of a busy key) while one that could start waits. The
    claim decides, under both locks; a task held back then is deferred again, and queued
    by the dispatch of the next end on that side.
    """
    if free is not None and free <= 0:
        return []
    key_room, site_room, chosen = {}, {}, []
    candidates = deferred.exclude(site__in=site_limits.backing_off_now(now))
    for task_id, api_key_id, site in (
        candidates.order_by("created_at").values_list("id", "api_key_id", "site").iterator()
    ):
        if api_key_id not in key_room:
            key_room[api_key_id] = settings.MAX_TASKS_PER_KEY - running_count(api_key_id)
        if site not in site_room:
            site_room[site] = site_limits.unlocked_room(site)
        site_full = site_room[site] is not None and site_room[site] <= 0
        if key_room[api_key_id] <= 0 or site_full:
            continue
        key_room[api_key_id] -= 1
        if site_room[site] is not None:
            site_room[site] -= 1
        chosen.append(task_id)
        if free is not None and len(chosen) >= free:
            break
    Task.objects.filter(pk__in=chosen).update(deferred=False)
    return chosen
