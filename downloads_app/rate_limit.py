"""The rate limit: REQUEST_LIMIT task-creating requests per key in any window of
TASK_CLEANUP_TIME minutes (a key's own request_limit wins).

Accepted requests are recorded as TaskRequest rows and counted inside the transaction
that creates (or retries) the task, with the key's row locked, so the count is shared by
every web process and exact under concurrency: with a limit of N, N concurrent requests
pass and the (N+1)th waits for the lock, then sees N. On SQLite the IMMEDIATE transaction
mode serializes writers the same way. The requests are rows of their own, not the tasks,
so deleting a task (DELETE /delete_task) gives no request back, and a retry, which
reuses its task's row, still counts.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import Throttled

from downloads_app.models import TaskRequest
from keys_app.models import APIKey


class RateLimited(Throttled):
    default_detail = "Rate limit exceeded"


def window() -> timedelta:
    return timedelta(minutes=settings.TASK_CLEANUP_TIME)


def reserve_task_slot(api_key: APIKey, task_id: str) -> None:
    """Count a request of the key for `task_id`, or raise RateLimited (429, with
    Retry-After) when the key has used up its window.

    Must run inside the transaction that then creates (or retries) the task.
    """
    if window() <= timedelta(0):
        return
    APIKey.objects.select_for_update().filter(pk=api_key.pk).first()
    now = timezone.now()
    recent = TaskRequest.objects.filter(api_key=api_key, created_at__gt=now - window())
    limit = api_key.effective_request_limit
    if recent.count() < limit:
        TaskRequest.objects.create(api_key=api_key, task_id=task_id, created_at=now)
        return
    oldest_counted = recent.order_by("-created_at").values_list("created_at", flat=True)[limit - 1]
    wait = max(1, math.ceil((oldest_counted + window() - now).total_seconds()))
    minutes = f"{settings.TASK_CLEANUP_TIME:g}"
    raise RateLimited(
        wait=wait,
        detail=f"Rate limit exceeded: {limit} task requests per {minutes} minutes. "
        f"Try again in {wait} seconds.",
    )


def forget_old_requests() -> int:
    """Delete the requests that left the window; how many."""
    cutoff = timezone.now() - max(window(), timedelta(0))
    return TaskRequest.objects.filter(created_at__lt=cutoff).delete()[0]
