"""The rate limit: REQUEST_LIMIT task-creating requests per key in any window of
TASK_CLEANUP_TIME minutes (a key's own request_limit wins).

Accepted requests are counted from the Task table itself, inside the transaction that
creates the task and with the key's row locked, so the count is shared by every web
process and exact under concurrency: with a limit of N, N concurrent requests pass and
the (N+1)th waits for the lock, then sees N. On SQLite the IMMEDIATE transaction mode
serializes writers the same way. Finished tasks are deleted TASK_CLEANUP_TIME minutes
after they finish, so every task still inside the window is still counted.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import Throttled

from downloads_app.models import Task
from keys_app.models import APIKey


class RateLimited(Throttled):
    default_detail = "Rate limit exceeded"


def window() -> timedelta:
    return timedelta(minutes=settings.TASK_CLEANUP_TIME)


def reserve_task_slot(api_key: APIKey) -> None:
    """Raise RateLimited (429, with Retry-After) when the key has used up its window.

    Must run inside the transaction that then creates the task.
    """
    if window() <= timedelta(0):
        return
    APIKey.objects.select_for_update().filter(pk=api_key.pk).first()
    now = timezone.now()
    recent = Task.objects.filter(api_key=api_key, created_at__gt=now - window())
    limit = api_key.effective_request_limit
    if recent.count() < limit:
        return
    oldest_counted = recent.order_by("-created_at").values_list("created_at", flat=True)[limit - 1]
    wait = max(1, math.ceil((oldest_counted + window() - now).total_seconds()))
    minutes = f"{settings.TASK_CLEANUP_TIME:g}"
    raise RateLimited(
        wait=wait,
        detail=f"Rate limit exceeded: {limit} task requests per {minutes} minutes. "
        f"Try again in {wait} seconds.",
    )
