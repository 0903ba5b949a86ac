"""The rate limit: REQUEST_LIMIT task-creating requests per key in any window of
TASK_CLEANUP_TIME minutes (a key's own request_limit wins; 0 is no limit, which the
admin key made on the first start has).

Accepted requests are recorded as TaskRequest rows and counted inside the transaction
that creates (or retries) the task, with the key's row locked, so the count is shared by
every web process and exact under concurrency: with a limit of N, N concurrent requests
pass and the (N+1)th waits for the lock, then sees N. On SQLite the IMMEDIATE transaction
mode serializes writers the same way. The requests are rows of their own, not the tasks,
so deleting a task (DELETE /delete_task) gives no request back, and a retry, which
reuses its task's row, still counts.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from downloads_app.models import TaskRequest
from keys_app.models import APIKey
from ytdlphost.exceptions import LimitReached


def window() -> timedelta:
    return timedelta(minutes=settings.TASK_CLEANUP_TIME)


def counted(api_key: APIKey) -> bool:
    """Whether the key's requests are counted at all: not without a window, nor for a key
    with no limit."""
    return window() > timedelta(0) and api_key.effective_request_limit is not None


@dataclass(frozen=True)
class WindowState:
    """Where a key stands in its sliding window.

    `reset` is how many seconds until `remaining` grows again, when the oldest request
    that still counts leaves the window (the request the key waits for when it has
    none left); 0 when no request counts. `limit` and `remaining` are None for a key
    with no limit.
    """

    limit: int | None
    used: int
    reset: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers); none
        for a key with no limit, as the draft has no value for it."""
        if self.limit is None:
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    def reset_at(self, now: datetime) -> datetime | None:
        return now + timedelta(seconds=self.reset) if self.used else None


def window_state(api_key: APIKey, now: datetime | None = None) -> WindowState:
    """The one computation of a key's window: for the limit, its headers and /me."""
    limit = api_key.effective_request_limit
    if not counted(api_key):
        return WindowState(limit, 0, 0)
    now = now or timezone.now()
    recent = TaskRequest.objects.filter(api_key=api_key, created_at__gt=now - window())
    used = recent.count()
    if not used:
        return WindowState(limit, used, 0)
    # Newest first: the min(used, limit)-th request is the one whose leaving frees a slot.
    frees_a_slot = recent.order_by("-created_at").values_list("created_at", flat=True)[
        min(used, limit) - 1
    ]
    reset = max(1, math.ceil((frees_a_slot + window() - now).total_seconds()))
    return WindowState(limit, used, reset)


# What every 429 says besides when to try again: the owner's remedy, in their terms.
# Before "; try again in": the web page replaces that ending with its own countdown.
HOW_TO_RAISE = (
    "to raise it, set the key's request_limit in the Django admin, or give a new key a "
    "higher one at /create_key"
)


class RateLimited(LimitReached):
    """429, with Retry-After (ytdlphost/errors.py sets it from `retry_after`)."""

    def __init__(self, state: WindowState, detail: str = ""):
        minutes = f"{settings.TASK_CLEANUP_TIME:g}"
        super().__init__(
            detail
            or f"Rate limit exceeded: {state.limit} task requests per {minutes} minutes "
            f"({HOW_TO_RAISE}); try again in {state.reset} seconds",
            retry_after=state.reset,
        )
        self.state = state


def too_many_message(state: WindowState, wanted: int) -> str:
    """Why a group of `wanted` tasks (a playlist) is refused whole."""
    minutes = f"{settings.TASK_CLEANUP_TIME:g}"
    choose = f"choose at most {state.remaining} with `items`, or " if state.remaining else ""
    return (
        f"Rate limit: this playlist needs {wanted} task requests, and the key may make "
        f"{state.remaining} now ({state.limit} per {minutes} minutes; {HOW_TO_RAISE}); "
        f"{choose}try again in {state.reset} seconds"
    )


def check_allowance(api_key: APIKey) -> None:
    """Raise RateLimited when the key has no request left, without counting one: for a
    playlist, whose requests are counted when its entries are known (reserve_task_slots)."""
    if not counted(api_key):
        return
    state = window_state(api_key)
    if state.remaining <= 0:
        raise RateLimited(state)


def reserve_task_slot(api_key: APIKey, task_id: str) -> None:
    """Count a request of the key for `task_id`, or raise RateLimited (429, with
    Retry-After) when the key has used up its window.

    Must run inside the transaction that then creates (or retries) the task.
    """
    reserve_task_slots(api_key, [task_id])


def reserve_task_slots(api_key: APIKey, task_ids: list[str], what_fits: bool = False) -> list[str]:
    """Count one request of the key for each task, all or none: RateLimited when fewer
    are left (for more than one, its message says how many are allowed now). With
    `what_fits` (a subscription's check), the first as many as are left instead, none
    raising. Returns the ids counted.

    Must run inside the transaction that then creates (or retries) the tasks.
    """
    if not counted(api_key) or not task_ids:
        return list(task_ids)
    APIKey.objects.select_for_update().filter(pk=api_key.pk).first()
    now = timezone.now()
    state = window_state(api_key, now)
    if what_fits:
        task_ids = task_ids[: state.remaining]
    elif state.remaining < len(task_ids):
        if len(task_ids) > 1:
            raise RateLimited(state, too_many_message(state, len(task_ids)))
        raise RateLimited(state)
    TaskRequest.objects.bulk_create(
        [TaskRequest(api_key=api_key, task_id=task_id, created_at=now) for task_id in task_ids]
    )
    return list(task_ids)


def forget_old_requests() -> int:
    """Delete the requests that left the window; how many."""
    cutoff = timezone.now() - max(window(), timedelta(0))
    return TaskRequest.objects.filter(created_at__lt=cutoff).delete()[0]
