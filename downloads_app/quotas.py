"""The byte quotas: a key's `quota_bytes`, and TOTAL_QUOTA_BYTES for every key together,
per rolling window of QUOTA_WINDOW minutes (0 or empty: none).

What counts is what the workers wrote, as they write it: the supervising worker of each
download adds the bytes its child reported to a ByteUsage row of its task and time bucket
about once a second (ByteCounter), so the bytes of a key, or of the server, are one SUM
in the database, the same from every web process and every cluster. A task that passes
a quota while it downloads is stopped (`quota_exceeded`); what it wrote still counts, as
does a failed task's, for the bytes were downloaded.

A task whose size is known before it starts (the key looked the URL up with get_info:
known_length.known_size) reserves that size when it is created: its `reserved_bytes`
count as used while it waits or runs, and its worker gives them back as it counts what it
writes. The reservation is checked and written in the transaction that creates the task,
holding the key's row (and, for the server's quota, QuotaLock's), as the request limit
does (rate_limit.py): of concurrent submissions against a quota that fits N of them,
exactly N are accepted. On SQLite the IMMEDIATE transaction mode serializes writers the
same way.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Greatest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from downloads_app import known_length, metrics
from downloads_app.errors import MAX_RETRY_AFTER, DownloadFailed, ErrorCode
from downloads_app.models import ByteUsage, QuotaLock, Task, TaskStatus, TaskType
from keys_app.models import APIKey
from ytdlphost.exceptions import LimitReached

KEY, SERVER = "key", "server"
# How many buckets a window has: bytes leave the window at most a hundredth of it late.
BUCKETS_PER_WINDOW = 100
UNFINISHED = (TaskStatus.WAITING, TaskStatus.PROCESSING)


def window() -> timedelta:
    return timedelta(minutes=settings.QUOTA_WINDOW)


def bucket_end(moment: datetime) -> datetime:
    """The end of the time bucket `moment` falls in: buckets are a hundredth of the
    window, at least a second, aligned on the epoch so every worker shares them."""
    size = max(1, math.ceil(window().total_seconds() / BUCKETS_PER_WINDOW))
    end = (math.floor(moment.timestamp() / size) + 1) * size
    return datetime.fromtimestamp(end, tz=UTC)


def limits_of(api_key: APIKey) -> list[tuple[str, int]]:
    """The quotas a key's downloads count against: its own, and the server's."""
    limits = []
    if api_key.effective_quota_bytes is not None:
        limits.append((KEY, api_key.effective_quota_bytes))
    if settings.TOTAL_QUOTA_BYTES:
        limits.append((SERVER, settings.TOTAL_QUOTA_BYTES))
    return limits


@dataclass(frozen=True)
class Allowance:
    """Where one quota stands: `used` is the bytes counted in the window plus those
    reserved by unfinished tasks; `freeing` the counted bytes by when they leave the
    window, oldest first."""

    scope: str  # KEY or SERVER
    limit: int
    used: int
    freeing: tuple[tuple[datetime, int], ...]
    now: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def seconds_until_free(self, wanted: int = 1) -> int:
        """Seconds until `wanted` bytes fit (0: they do now); the whole window when the
        counted bytes leaving are not enough (reservations leave only with their tasks,
        and no wait makes room for more than the quota itself)."""
        used = self.used
        if self.limit - used >= wanted:
            return 0
        for leaves_at, size in self.freeing:
            used -= size
            if self.limit - used >= wanted:
                return max(1, math.ceil((leaves_at - self.now).total_seconds()))
        return max(1, math.ceil(window().total_seconds()))

    @property
    def reset(self) -> int:
        """Seconds until more is left than now: when the oldest counted bytes leave the
        window (or, used up, when some fit again); 0 when nothing counts."""
        if not self.remaining:
            return self.seconds_until_free(1)
        if not self.freeing:
            return 0
        return max(1, math.ceil((self.freeing[0][0] - self.now).total_seconds()))

    def reset_at(self) -> datetime | None:
        reset = self.reset
        return self.now + timedelta(seconds=reset) if reset else None

    def as_dict(self) -> dict:
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset": self.reset,
            "reset_at": self.reset_at(),
        }


def _allowance(scope: str, limit: int, api_key: APIKey, now: datetime) -> Allowance:
    usage = ByteUsage.objects.filter(bucket_end__gt=now - window())
    reserved = Task.objects.filter(status__in=UNFINISHED, reserved_bytes__gt=0)
    if scope == KEY:
        usage, reserved = usage.filter(api_key=api_key), reserved.filter(api_key=api_key)
    buckets = usage.values("bucket_end").annotate(size=Sum("bytes")).order_by("bucket_end")
    freeing = tuple((row["bucket_end"] + window(), row["size"]) for row in buckets)
    held = reserved.aggregate(held=Sum("reserved_bytes"))["held"] or 0
    return Allowance(scope, limit, sum(size for _, size in freeing) + held, freeing, now)


def allowances(api_key: APIKey, now: datetime | None = None) -> list[Allowance]:
    """The key's quotas as they stand: its own, then the server's (none: no quota)."""
    now = now or timezone.now()
    return [_allowance(scope, limit, api_key, now) for scope, limit in limits_of(api_key)]


def tightest(found: list[Allowance]) -> Allowance | None:
    """The quota that leaves the least, which is what the key may still download."""
    return min(found, key=lambda allowance: allowance.remaining, default=None)


def headers(api_key: APIKey) -> dict[str, str]:
    """The X-Quota-Bytes-* headers of the quota that leaves the key the least; none for
    a key that has no quota (nor the server)."""
    allowance = tightest(allowances(api_key))
    return allowance_headers(allowance) if allowance else {}


def allowance_headers(allowance: Allowance) -> dict[str, str]:
    return {
        "X-Quota-Bytes-Limit": str(allowance.limit),
        "X-Quota-Bytes-Used": str(allowance.used),
        "X-Quota-Bytes-Remaining": str(allowance.remaining),
        "X-Quota-Bytes-Reset": str(allowance.reset),
        "X-Quota-Bytes-Scope": allowance.scope,
    }


def size_text(size: int) -> str:
    return filesizeformat(size).replace("\xa0", " ")


def whose(allowance: Allowance) -> str:
    if allowance.scope == KEY:
        return "this key's byte quota"
    return "the server's byte quota (TOTAL_QUOTA_BYTES)"


def used_up_message(
    allowance: Allowance, wanted: int | None = None, wait_for: int | None = None
) -> str:
    """Why a task may not download (more), with what is left and when it frees (for
    `wait_for` bytes, else `wanted`); ends with "; try again in N seconds", as every 429
    of the API does."""
    minutes = f"{settings.QUOTA_WINDOW:g}"
    needs = f"; the task needs {size_text(wanted)} ({wanted} bytes)" if wanted else ""
    if wanted and wanted > allowance.limit:
        needs += ", more than the whole quota"
    remedy = (
        " (to raise it, set the key's quota_bytes in the Django admin)"
        if allowance.scope == KEY
        else ""
    )
    return (
        f"Byte quota exceeded: {whose(allowance)} is {size_text(allowance.limit)} "
        f"({allowance.limit} bytes) per {minutes} minutes{remedy}, and "
        f"{allowance.remaining} bytes are left{needs}; try again in "
        f"{allowance.seconds_until_free(wait_for or wanted or 1)} seconds"
    )


class QuotaExceeded(LimitReached):
    """429, with Retry-After (ytdlphost/errors.py sets it from `retry_after`) and the
    quota's headers."""

    def __init__(self, allowance: Allowance, wanted: int | None = None):
        super().__init__(
            used_up_message(allowance, wanted),
            retry_after=allowance.seconds_until_free(wanted or 1),
        )
        self.allowance = allowance


def check_allowance(api_key: APIKey) -> None:
    """Raise QuotaExceeded when a quota of the key has nothing left: for a task of
    unknown size, and a playlist (its entries count as they download)."""
    for allowance in allowances(api_key):
        if not allowance.remaining:
            metrics.record_quota_refusal(allowance.scope)
            raise QuotaExceeded(allowance)


def known_size(api_key: APIKey, task: Task) -> int | None:
    """The task's size as its key's get_info knows it (known_length.known_size), read
    only when a quota of the key would hold it: a submission without one reads no
    document and runs no format selector. Read before reserve takes the locks."""
    if not limits_of(api_key) or task.task_type == TaskType.GET_INFO:
        return None
    return known_length.known_size(api_key, task)


def reserve(api_key: APIKey, task: Task, size: int | None) -> None:
    """Refuse the task (QuotaExceeded) when a quota of its key has nothing left, or less
    than its known `size`; otherwise hold that size for it (`reserved_bytes`, saved with
    the task).

    Must run inside the transaction that then saves (or retries) the task: the key's row,
    and the server's QuotaLock, stay locked until it commits.
    """
    limits = limits_of(api_key)
    if not limits or task.task_type == TaskType.GET_INFO:  # metadata: no media bytes
        return
    if not size:
        check_allowance(api_key)
        return
    APIKey.objects.select_for_update().filter(pk=api_key.pk).first()
    if any(scope == SERVER for scope, _ in limits):
        QuotaLock.objects.bulk_create([QuotaLock(id=1)], ignore_conflicts=True)
        QuotaLock.objects.select_for_update().filter(id=1).first()
    for allowance in allowances(api_key):
        if allowance.remaining < size:
            metrics.record_quota_refusal(allowance.scope)
            raise QuotaExceeded(allowance, size)
    task.reserved_bytes = size


class ByteCounter:
    """Counts what a run of a task writes (Supervisor), against its key's quotas.

    `count` is given the bytes the run has written so far; it adds what is new to the
    task's ByteUsage row of the current bucket, gives as much of the task's reservation
    back, and returns the quota the key has now passed (the task must stop), or None.
    """

    def __init__(self, task: Task):
        self.task = task
        self.counted = 0
        self.limited = bool(limits_of(task.api_key))

    def count(self, written: int) -> Allowance | None:
        new = written - self.counted
        if new <= 0:
            return None
        now = timezone.now()
        end = bucket_end(now)
        with transaction.atomic():
            row = ByteUsage.objects.filter(task_id=self.task.id, bucket_end=end)
            if not row.update(bytes=F("bytes") + new):
                try:
                    with transaction.atomic():
                        ByteUsage.objects.create(
                            api_key_id=self.task.api_key_id, task_id=self.task.id,
                            bucket_end=end, bytes=new,
                        )  # fmt: skip
                except IntegrityError:  # a run of the task that recovery replaced, too
                    row.update(bytes=F("bytes") + new)
            if self.task.reserved_bytes:
                Task.objects.filter(pk=self.task.id, reserved_bytes__gt=0).update(
                    reserved_bytes=Greatest(F("reserved_bytes") - new, Value(0))
                )
        self.counted = written
        metrics.record_bytes_counted(new)
        if not self.limited:
            return None
        for allowance in allowances(self.task.api_key, now):
            if allowance.used > allowance.limit:
                return allowance
        return None


@dataclass(frozen=True)
class QuotaRoom:
    """What the tightest quota leaves a task as its run starts (its own reservation
    included): its child, which has no database, refuses a download whose size yt-dlp
    knows and that does not fit (limits.Limits.check_quota)."""

    allowance: Allowance
    reserved: int  # the task's own reservation, counted in allowance.used

    @property
    def room(self) -> int:
        return self.allowance.remaining + self.reserved

    def refusal(self, size: int) -> DownloadFailed:
        wanted = max(1, size - self.reserved)
        return DownloadFailed(
            used_up_message(self.allowance, size, wait_for=wanted),
            ErrorCode.QUOTA_EXCEEDED,
            retry_after=min(self.allowance.seconds_until_free(wanted), MAX_RETRY_AFTER),
        )


def room_for(task: Task) -> QuotaRoom | None:
    """The room of a task about to run, for its child; None when no quota applies."""
    if task.task_type == TaskType.GET_INFO:
        return None
    allowance = tightest(allowances(task.api_key))
    if allowance is None:
        return None
    reserved = task.reserved_bytes or 0
    return QuotaRoom(allowance, reserved)


def stopped(allowance: Allowance, wanted: int | None) -> tuple[str, int]:
    """The error of a task stopped for a quota while downloading, and its retry_after
    (until enough frees for `wanted`, its size when known)."""
    message = f"The download was stopped: {used_up_message(allowance, wanted)}"
    return message, min(allowance.seconds_until_free(wanted or 1), MAX_RETRY_AFTER)


def server_usage() -> dict:
    """The bytes in the window of every key: written, and reserved (for /metrics)."""
    written = ByteUsage.objects.filter(bucket_end__gt=timezone.now() - window())
    reserved = Task.objects.filter(status__in=UNFINISHED, reserved_bytes__gt=0)
    return {
        "written": written.aggregate(total=Sum("bytes"))["total"] or 0,
        "reserved": reserved.aggregate(total=Sum("reserved_bytes"))["total"] or 0,
    }


def forget_old_usage() -> int:
    """Delete the byte counts that left the window; how many rows."""
    return ByteUsage.objects.filter(bucket_end__lte=timezone.now() - window()).delete()[0]
