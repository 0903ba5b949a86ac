"""A task's end as a webhook event: the delivery its final status creates, its queue
message, and which deliveries are due or under way (each takes one of its key's slots).

Below lifecycle.py, which calls task_ended in the transaction that writes a final status
and counts and queues deliveries with a key's slots; webhooks.py makes the attempts.
"""

import json

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from downloads_app import signals
from downloads_app.models import Task, TaskStatus, WebhookDelivery, WebhookState
from downloads_app.schema import TaskStatusOutput


def event_type(task: Task) -> str:
    """The event a task's end announces.

    A cancelled task ends as `error` with `cancelled` set (issue 11's cancel): this is the
    one place that tells it from a failure.
    """
    if task.status == TaskStatus.COMPLETED:
        return "task.completed"
    if getattr(task, "cancelled", False):
        return "task.cancelled"
    return "task.failed"


def webhook_url_of(task: Task) -> str:
    return task.webhook_url or task.api_key.webhook_url


def task_ended(task: Task) -> WebhookDelivery | None:
    """The delivery announcing that `task` ended, when it has a webhook URL.

    Call it in the transaction that writes the task's final status, with `task` holding
    that status: the delivery exists exactly when the status change does, and its first
    attempt is queued once both are committed. The entries of a playlist have none.
    Every final status passes here, so this is also where signals.task_ended is sent.
    """
    signals.task_ended.send(sender=Task, task=task)
    if task.parent_id:
        return None  # an entry of a playlist: the playlist's end is announced, once
    url = webhook_url_of(task)
    if not url:
        return None
    now = timezone.now()
    data = TaskStatusOutput(task).data
    data.pop("webhook", None)  # the delivery's own state: not part of the event
    body = {
        "type": event_type(task),
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    delivery = WebhookDelivery.objects.create(
        api_key_id=task.api_key_id,
        task_id=task.id,
        event_type=body["type"],
        url=url,
        payload=json.dumps(body, separators=(",", ":")),
        next_attempt_at=now,
    )
    transaction.on_commit(lambda: enqueue(delivery.id, attempts=0))
    return delivery


def enqueue(delivery_id: str, attempts: int) -> None:
    """Send the delivery's queue message, then record when (unless an attempt was made
    meanwhile: then the message is spent, and the sweep must see none out)."""
    sent_at = timezone.now()
    async_task(
        "downloads_app.tasks.deliver_webhook", delivery_id, task_name=f"webhook-{delivery_id}"
    )
    WebhookDelivery.objects.filter(
        pk=delivery_id, state=WebhookState.PENDING, attempts=attempts
    ).update(queued_at=sent_at)


def attempts_under_way(api_key_id: int):
    """The key's deliveries a worker holds now (each takes one of its slots)."""
    return WebhookDelivery.objects.filter(api_key_id=api_key_id, lease_until__gt=timezone.now())


def _due(now):
    """Pending deliveries due now that no live worker holds."""
    return WebhookDelivery.objects.filter(
        state=WebhookState.PENDING, next_attempt_at__lte=now
    ).filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))


def waiting_for_a_slot(api_key_id: int):
    """(id, attempts) of the key's due deliveries that no worker holds, oldest due first:
    those a claim deferred for the key's cap (lifecycle.dispatch_next_waiting).

    Whether a message is out does not count: a deferring claim clears `queued_at`, but
    enqueue may write it just after, and a duplicate message costs only a claim."""
    due = _due(timezone.now()).filter(api_key_id=api_key_id)
    return due.order_by("next_attempt_at").values_list("id", "attempts")
