"""Signed webhooks: the event a task's end creates, and its delivery by the workers.

- `task_ended` (webhook_events.py) runs in the transaction that writes a task's final
  status (lifecycle.py): when the task has a webhook URL (its own, or its key's default)
  it creates a WebhookDelivery holding the event's body, `{"type", "timestamp", "data":
  <the /status body>}`, and queues its first attempt once committed.
- `deliver` (a django-q2 task, never the request nor the task's own run) claims a due
  delivery, when its key has a free MAX_TASKS_PER_KEY slot, and POSTs the body, signed
  per Standard Webhooks with the key's `whsec_` secret (the `standardwebhooks` package):
  `webhook-id` (the delivery's id, the same on every attempt), `webhook-timestamp`,
  `webhook-signature`. Any 2xx delivers it; any other answer, a timeout or a refused
  connection is retried after WEBHOOK_BACKOFF_SECONDS, doubled after each failure, until
  WEBHOOK_MAX_ATTEMPTS. Each attempt is a WebhookAttempt row, seen in the admin. The
  worker holds a lease on the delivery while it attempts it, renewed as it runs (Lease):
  no second attempt starts meanwhile.
- `maintain`, in the every-minute maintenance, queues deliveries that are due (a retry,
  or a message lost to a restart) and deletes finished ones TASK_CLEANUP_TIME after they
  ended.

Where it may connect: the URL is checked by url_policy when it is given, and every
connection goes through url_policy.guarded_create_connection, on the address actually
connected to. Redirects are not followed. An attempt takes at most
WEBHOOK_TIMEOUT seconds in all (AttemptDeadline), so a receiver that is down holds a worker
only that long; and it takes one of its key's MAX_TASKS_PER_KEY slots meanwhile, so a key's
hanging receivers hold at most that many workers, as its own downloads would.
"""

import contextlib
import functools
import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from downloads_app import heartbeat, lifecycle, slots, url_policy
from downloads_app.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookState,
)
from downloads_app.webhook_events import _due, enqueue

logger = logging.getLogger("ytdlphost.webhooks")

# A due delivery whose queue message was sent this long ago is queued again: the message
# may be lost (Redis does not keep a killed cluster's messages). A duplicate costs nothing:
# the second claim finds the delivery no longer due.
REQUEUE_AFTER = timedelta(minutes=10)
# Of the receiver's answer only the status counts; this much of the body is read.
ANSWER_BYTES = 4096


class WebhookNotSent(Exception):
    pass


class LeaseLost(Exception):
    """The attempt's worker no longer holds its delivery: it must record nothing."""


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: WEBHOOK_BACKOFF_SECONDS, doubled each time."""
    return timedelta(seconds=settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (failed_attempts - 1))


class Lease:
    """A worker's hold on a delivery while it attempts it, and while it waits for a retry
    due within WEBHOOK_TIMEOUT: `lease_until`, STALE_TASK_TIMEOUT ahead, renewed at the
    pace of a task's heartbeat for as long as the attempt runs. No other worker claims the
    delivery meanwhile; one killed mid-attempt leaves it due once the lease runs out.

    The value of `lease_until` is the holder's token: only the holder renews it, records
    its attempt and releases it (conditional UPDATEs), so a worker that lost its lease
    changes nothing.
    """

    def __init__(self, delivery: WebhookDelivery, until):
        self.delivery, self.until = delivery, until
        self.renewed_at = time.monotonic()

    @staticmethod
    def new_end():
        return timezone.now() + timedelta(seconds=settings.STALE_TASK_TIMEOUT)

    def held(self):
        """The delivery's row, while this lease holds it."""
        return WebhookDelivery.objects.filter(pk=self.delivery.pk, lease_until=self.until)

    def renew(self) -> bool:
        """Push the lease ahead; False once it is lost, or when renewals have failed for
        so long that it may run out before the next one (heartbeat.heartbeat_lease)."""
        until = self.new_end()
        try:
            renewed = self.held().update(lease_until=until)
        except DatabaseError:
            logger.warning("lease of webhook %s not renewed", self.delivery.id, exc_info=True)
            return time.monotonic() - self.renewed_at < heartbeat.heartbeat_lease()
        if renewed:
            self.until, self.renewed_at = until, time.monotonic()
        return bool(renewed)

    def hold_for(self, seconds: float) -> bool:
        """Wait `seconds`, renewing; False when the lease was lost meanwhile."""
        ends_at = time.monotonic() + seconds
        while (left := ends_at - time.monotonic()) > 0:
            time.sleep(min(left, heartbeat.heartbeat_interval()))
            if not self.renew():
                return False
        return True

    def release(self) -> None:
        self.held().update(lease_until=None)


def deliver(delivery_id: str) -> None:
    """Make the delivery's due attempt, and those due again within WEBHOOK_TIMEOUT (a wait
    no longer than one attempt may take anyway); later retries are left to the sweep."""
    lease = _claim(delivery_id)
    if lease is None:
        return
    try:
        while (retry_in := _attempt(lease)) is not None and retry_in <= settings.WEBHOOK_TIMEOUT:
            if not lease.hold_for(max(0.0, retry_in)):
                return
    finally:
        lease.release()
        lifecycle.dispatch_next_waiting(lease.delivery.api_key_id)  # the slot it held


def _claim(delivery_id: str) -> Lease | None:
    """Take a due delivery for an attempt; None when it is not due (delivered, failed, in
    another worker's hands, or a duplicate message), or when its key already runs
    MAX_TASKS_PER_KEY tasks and attempts: then it is left without a message, and the end
    of one of those queues it (lifecycle.dispatch_next_waiting). As task_claim."""
    now = timezone.now()
    until = Lease.new_end()
    with transaction.atomic():
        due = _due(now).filter(pk=delivery_id)
        api_key_id = due.values_list("api_key_id", flat=True).first()
        if api_key_id is None:
            return None
        if slots.free_slots(api_key_id) <= 0:
            due.update(queued_at=None)  # this message is spent
            return None
        claimed = due.update(lease_until=until, queued_at=None)
    if not claimed:
        return None
    return Lease(WebhookDelivery.objects.select_related("api_key").get(pk=delivery_id), until)


def _attempt(lease: Lease) -> float | None:
    """Send once and record it; the seconds until the next attempt, None when done (or
    when the lease was lost: the attempt is then another worker's to make and record)."""
    delivery = lease.delivery
    number = delivery.attempts + 1
    started_at = timezone.now()
    started = time.monotonic()
    status_code, error = None, ""
    try:
        status_code = send(delivery, keep_alive=lease.renew)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
            if 300 <= status_code < 400:
                error += " (redirects are not followed)"
    except LeaseLost:
        logger.warning("webhook %s: lease lost during attempt %d", delivery.id, number)
        return None
    except (WebhookNotSent, OSError, http.client.HTTPException, ValueError) as exc:
        error = str(exc) or type(exc).__name__
    duration = time.monotonic() - started
    now = timezone.now()
    update = {"attempts": number, "next_attempt_at": None, "finished_at": now}
    if not error:
        update["state"] = WebhookState.DELIVERED
    elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
        update["state"] = WebhookState.FAILED
    else:
        update.update(next_attempt_at=now + backoff(number), finished_at=None)
    with transaction.atomic():
        if not lease.held().update(**update):
            logger.warning(
                "webhook %s: lease lost before attempt %d was recorded", delivery.id, number
            )
            return None
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration=duration,
            status_code=status_code,
            error=error,
        )
    delivery.attempts = number
    if error:
        logger.warning(
            "webhook %s of task %s, attempt %d of %d: %s",
            delivery.id, delivery.task_id, number, settings.WEBHOOK_MAX_ATTEMPTS, error,
            extra={"task_id": delivery.task_id},
        )  # fmt: skip
    if update["next_attempt_at"] is None:
        return None
    return (update["next_attempt_at"] - timezone.now()).total_seconds()


def send(delivery: WebhookDelivery, keep_alive: Callable[[], bool] = lambda: True) -> int:
    """POST the delivery's body, signed now; the answer's status code. `keep_alive` as
    post's, called at the pace of a task's heartbeat."""
    secret = delivery.api_key.webhook_secret
    if secret is None:
        raise WebhookNotSent(
            "the key's signing secret cannot be decrypted (see KEY_ENCRYPTION_KEYS)"
        )
    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ytdlphost-webhooks",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.id, now, delivery.payload),
    }
    return post(
        delivery.url,
        delivery.payload.encode(),
        headers,
        settings.WEBHOOK_TIMEOUT,
        keep_alive=keep_alive,
        keep_alive_every=heartbeat.heartbeat_interval(),
    )


class AttemptDeadline:
    """WEBHOOK_TIMEOUT as one absolute deadline on a whole attempt.

    A per-operation socket timeout restarts with every byte a receiver drips, and each
    address of a host name would get it anew. So each step asks `remaining()` first (the
    connection to each address gets what is left, not the whole timeout), and every socket
    the attempt opens is watched: `expire()` shuts it down, which ends a blocking connect,
    TLS handshake, send or receive at once. The shutdown goes through a duplicate of the
    socket's descriptor, which TLS cannot take away (ssl detaches the socket it wraps).
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._watched: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        left = self.ends_at - time.monotonic()
        if self.expired or left <= 0:
            raise TimeoutError("the attempt's deadline has passed")
        return left

    def connect(self, ip_addr, timeout, source_address) -> socket.socket:
        """A socket connected to one address in what is left of the deadline (the
        connection guard's `connect`; `timeout`, the whole timeout, is not used)."""
        return url_policy.socket_connect(
            ip_addr, self.remaining(), source_address, opened=self.watch
        )

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the deadline passes (through a duplicate, which still
        reaches it once TLS has wrapped it)."""
        with self._lock:
            if self.expired:
                raise TimeoutError("the attempt's deadline has passed")
            self._watched.append(sock.dup())

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for watched in self._watched:
                with contextlib.suppress(OSError):
                    watched.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """Close the duplicates, once the attempt's connection is closed."""
        with self._lock:
            for watched in self._watched:
                watched.close()
            self._watched.clear()


class _Sending(threading.Thread):
    """One POST, in a thread of its own, so that the worker waits for it only until the
    deadline, whatever it is stuck in: getaddrinfo cannot be interrupted, and a name that
    takes long to resolve is left to finish here, unable to connect afterwards."""

    def __init__(self, connection, deadline: AttemptDeadline, target: str, body, headers):
        super().__init__(name="webhook-attempt", daemon=True)
        self.connection, self.deadline = connection, deadline
        self.target, self.body, self.headers = target, body, headers
        self.status: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.connection.request("POST", self.target, body=self.body, headers=self.headers)
            response = self.connection.getresponse()
            response.read(ANSWER_BYTES)
            self.status = response.status
        except BaseException as exc:  # handed to the worker, which decides
            self.error = exc
        finally:
            self.connection.close()
            self.deadline.release()


def post(
    url: str,
    body: bytes,
    headers: dict,
    timeout: float,
    keep_alive: Callable[[], bool] = lambda: True,
    keep_alive_every: float = 1.0,
) -> int:
    """POST `body` to `url` without following redirects, through the connection guard,
    in at most `timeout` seconds in all: name resolution, connecting (to every address of
    the name together), TLS, sending and the answer (AttemptDeadline). While it waits it
    calls `keep_alive` every `keep_alive_every` seconds, and gives up (LeaseLost) as soon
    as that answers False."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    if scheme not in url_policy.ALLOWED_SCHEMES or not host:
        raise WebhookNotSent("the webhook URL must be an http or https URL with a host")
    deadline = AttemptDeadline(timeout)
    connection_class = (
        http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(host, port, timeout=timeout)
    # http.client opens its socket (HTTPS too, before TLS) through this attribute, which
    # its __init__ sets to socket.create_connection.
    connection._create_connection = functools.partial(
        url_policy.guarded_create_connection, connect=deadline.connect
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sending = _Sending(connection, deadline, target, body, headers)
    sending.start()
    try:
        while sending.is_alive() and (left := deadline.ends_at - time.monotonic()) > 0:
            sending.join(min(left, keep_alive_every))
            if sending.is_alive() and not keep_alive():
                raise LeaseLost("the delivery's lease was lost during the attempt")
        if sending.is_alive() or isinstance(sending.error, TimeoutError):
            raise WebhookNotSent(f"no answer within {timeout:g} s (WEBHOOK_TIMEOUT)")
    finally:
        deadline.expire()  # ends whatever the thread still waits on
    if sending.error is not None:
        raise sending.error
    return sending.status


def maintain() -> dict:
    """The maintenance's part: queue due deliveries that have no message out (retries,
    messages lost to a restart, attempts whose worker died), and delete deliveries that
    ended TASK_CLEANUP_TIME ago."""
    now = timezone.now()
    due = _due(now).filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - REQUEUE_AFTER))
    queued = list(due.values_list("id", "attempts"))
    for delivery_id, attempts in queued:
        enqueue(delivery_id, attempts)
    cutoff = now - timedelta(minutes=settings.TASK_CLEANUP_TIME)
    _, deleted = WebhookDelivery.objects.filter(
        state__in=[WebhookState.DELIVERED, WebhookState.FAILED], finished_at__lt=cutoff
    ).delete()
    return {
        "webhooks_queued": len(queued),
        "webhooks_deleted": deleted.get(WebhookDelivery._meta.label, 0),
    }
