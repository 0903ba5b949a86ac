"""Webhook deliveries of task events and each attempt at sending one (sent by
downloads_app/webhooks.py)."""

import secrets

from django.db import models, transaction

from downloads_app.models.task import LISTED_DELIVERY_FIELDS, Task
from keys_app.models import APIKey


def new_webhook_id() -> str:
    return f"msg_{secrets.token_urlsafe(18)}"


class WebhookState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDeliveryQuerySet(models.QuerySet):
    """Writes of what a list shows of a delivery (LISTED_DELIVERY_FIELDS) give its task a
    new listed_version, first and in the same transaction (a task row, then a delivery
    row: the order in which a task's end creates its delivery)."""

    def update(self, **kwargs):
        if not LISTED_DELIVERY_FIELDS.intersection(kwargs):
            return super().update(**kwargs)
        with transaction.atomic():
            Task.objects.filter(pk__in=self.values("task_id")).mark_changed()
            return super().update(**kwargs)

    def delete(self):
        with transaction.atomic():
            Task.objects.filter(pk__in=self.values("task_id")).mark_changed()
            return super().delete()


class WebhookDelivery(models.Model):
    """One event of a task (task.completed, task.failed, ...), to be sent to one URL.

    Created with the task's final status, in the same transaction (lifecycle.task_finish,
    maintenance.task_recover_interrupted), and sent by workers (downloads_app/webhooks.py):
        pending -> delivered   an attempt got a 2xx answer
        pending -> failed      WEBHOOK_MAX_ATTEMPTS attempts did not
    A pending delivery is due at `next_attempt_at`. The worker attempting it holds a lease,
    `lease_until`, which it renews while the attempt runs: no other worker claims it
    meanwhile, and a worker killed mid-attempt leaves it due again once the lease runs out.
    A live lease takes one of its key's MAX_TASKS_PER_KEY slots, as a running task does.
    The body is fixed when the event happens and `id` is the `webhook-id` of every
    attempt. It outlives its task (it keeps the task's id, not a foreign key): retries
    last about an hour, cleanup removes tasks sooner.
    """

    id = models.CharField(primary_key=True, max_length=40, default=new_webhook_id, editable=False)
    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="webhook_deliveries")
    task_id = models.CharField(max_length=32, db_index=True)
    event_type = models.CharField(max_length=30)
    url = models.TextField()
    payload = models.TextField()  # the exact JSON body that is signed and sent
    state = models.CharField(
        max_length=20, choices=WebhookState.choices, default=WebhookState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # While a worker attempts it (webhooks.Lease); the value is also the holder's token.
    lease_until = models.DateTimeField(null=True, blank=True)
    # When its queue message was last sent; empty: none is out (the sweep sends one when due).
    queued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.event_type} {self.id}"

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        with transaction.atomic():
            if update_fields is None or LISTED_DELIVERY_FIELDS.intersection(update_fields):
                Task.objects.filter(pk=self.task_id).mark_changed()
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            Task.objects.filter(pk=self.task_id).mark_changed()
            return super().delete(*args, **kwargs)


class WebhookAttempt(models.Model):
    """One try at sending a delivery: what the receiver answered, or why it did not."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration = models.FloatField(help_text="Seconds.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"
