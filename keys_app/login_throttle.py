"""The Django admin's login and the web page's sign-in, throttled against guessing.

After ADMIN_LOGIN_MAX_FAILURES failed logins for one username, or from one address,
within ADMIN_LOGIN_WINDOW minutes, further attempts for that username or from that
address are refused, even with the right password, until enough of those failures are
older than the window. Refused attempts are not counted, so the lock ends on time. The
page's sign-in has no username (the API key is the whole credential): it is counted by
address only, together with the admin logins from that address.

Failures are rows in the database rather than cache entries: the count is then shared by
every web process on every machine (the default cache is a file cache, one per machine,
which culls entries as it fills, and an attacker spraying usernames could make it forget
his failures), and exact under concurrency: an attempt is recorded before its password is
checked and counted after, so with a limit of N, at most N concurrent guesses are let
through. The record of an attempt that succeeds, or that is refused, is removed again.
"""

import math
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from keys_app.models import AdminLoginFailure


class LoginThrottled(ValidationError):
    def __init__(self, wait_seconds: int, credential: str = "password"):
        minutes = max(1, math.ceil(wait_seconds / 60))
        super().__init__(
            "Too many failed login attempts for this account or from this address. "
            f"Logging in is refused for {minutes} minute{'s' if minutes != 1 else ''}, "
            f"even with the right {credential}.",
            code="throttled",
        )


def window() -> timedelta:
    return timedelta(minutes=settings.ADMIN_LOGIN_WINDOW)


def begin_attempt(username: str, address: str, credential: str = "password") -> AdminLoginFailure:
    """Record an attempt as a failure until it succeeds; raise LoginThrottled instead
    when the username or the address has failed too often. An empty username (the page's
    sign-in, where the key is the whole credential) is counted by its address only."""
    now = timezone.now()
    AdminLoginFailure.objects.filter(attempted_at__lte=now - window()).delete()
    attempt = AdminLoginFailure.objects.create(
        username=username.casefold()[:150], address=address[:45], attempted_at=now
    )
    recent = AdminLoginFailure.objects.filter(attempted_at__gt=now - window())
    sources = [Q(address=attempt.address)]
    if attempt.username:
        sources.append(Q(username=attempt.username))
    waits = [
        seconds_until_allowed(recent.filter(same).exclude(pk=attempt.pk), now) for same in sources
    ]
    if max(waits) > 0:
        attempt.delete()
        raise LoginThrottled(max(waits), credential)
    return attempt


def seconds_until_allowed(failures, now) -> float:
    """0 when fewer than the limit; else until enough of them leave the window."""
    limit = settings.ADMIN_LOGIN_MAX_FAILURES
    times = sorted(failures.values_list("attempted_at", flat=True))
    if len(times) < limit:
        return 0
    # Allowed again once len(times) - limit + 1 of them have left the window.
    return max(1.0, (times[len(times) - limit] + window() - now).total_seconds())


def attempt_succeeded(attempt: AdminLoginFailure) -> None:
    attempt.delete()
