import secrets

from django.db import models

from downloads_app.models import PRESET_NAME_MAX_LENGTH, TITLE_MAX_LENGTH, TaskType


def new_subscription_id() -> str:
    # 96 random bits, URL-safe, as a task's id: no key learns another's by counting.
    return secrets.token_urlsafe(12)


# What a subscription downloads: each new entry becomes a task of this type.
SUBSCRIPTION_TASK_TYPES = (TaskType.GET_VIDEO, TaskType.GET_AUDIO)


class Subscription(models.Model):
    """A channel, playlist or feed that is listed every `interval` seconds; each entry it
    has not seen before becomes a task of `task_type` of its key.

    Who moves it (subscriptions_app/checks.py):
        due        next_check_at has passed and it is not paused; the every-minute
                   schedule queues a check of it (checks.queue_due_checks), and POST
                   /subscriptions/<id>/check makes it due now
        checking   checks.claim_check: a conditional UPDATE sets `checking_until` (a lease),
                   and the site's ListingSlot is taken in the same transaction, so one
                   subscription is checked by one worker of all clusters, and one site
                   listed by one at a time; a worker that dies leaves both to their lease
        checked    checks.finish_check: last_checked_at, next_check_at (interval plus a
                   jitter), last_error; `failed_checks` in a row, and at
                   SUBSCRIPTION_MAX_FAILED_CHECKS it pauses itself, `paused_reason` saying why
        paused     by its key (PATCH), the admin, or itself; never checked until resumed
    Its archive (SubscriptionEntry) outlives its tasks; its tasks outlive it (their
    `subscription` is set null when it is deleted).
    """

    id = models.CharField(
        primary_key=True, max_length=32, default=new_subscription_id, editable=False
    )
    api_key = models.ForeignKey(
        "keys_app.APIKey", on_delete=models.CASCADE, related_name="subscriptions"
    )
    url = models.TextField()
    # The host of `url`: no two listings of one site at a time (ListingSlot).
    site = models.CharField(max_length=255)
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    task_type = models.CharField(
        max_length=20, choices=[(t.value, t.label) for t in SUBSCRIPTION_TASK_TYPES]
    )
    # The defaults of its tasks: request fields of `task_type` as a request would send
    # them (no `url`), over those of the preset it names, if any; applied as each task is
    # created, as a request's are (serializers.task_request), so a change of the preset
    # reaches the tasks that follow.
    preset = models.CharField(max_length=PRESET_NAME_MAX_LENGTH, blank=True)
    options = models.JSONField(default=dict, blank=True)
    interval = models.PositiveIntegerField(help_text="Seconds between checks.")
    # Where its tasks' ends are announced; empty: the key's default webhook_url, if any.
    webhook_url = models.TextField(blank=True)

    paused = models.BooleanField(default=False)
    paused_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(db_index=True)
    # While a worker checks it (checks.claim_check); a lease, so a dead worker's claim ends.
    checking_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=32, blank=True)
    failed_checks = models.PositiveSmallIntegerField(default=0)  # in a row

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"subscription {self.id} to {self.url}"


class EntryState(models.TextChoices):
    SKIPPED = "skipped"  # listed when subscribing, beyond `backfill`: never downloaded
    PENDING = "pending"  # to start, at the next check that fits it in the rate limit
    STARTED = "started"  # its task (`task_id`) has not ended
    DOWNLOADED = "downloaded"
    FAILED = "failed"  # its last task failed; retried while attempts < SUBSCRIPTION_ENTRY_ATTEMPTS


class SubscriptionEntry(models.Model):
    """The archive: one row per entry a subscription has ever listed, known by its
    `archive_id` (ytdlp.archive_id_of: yt-dlp's id of the entry, else its URL). An entry
    listed again (moved in the list, after a restart, after its task's cleanup) finds its
    row and is not downloaded again. Its state follows its task's end
    (archive.record_task_end)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="entries")
    archive_id = models.TextField()
    url = models.TextField()
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    state = models.CharField(max_length=20, choices=EntryState.choices)
    attempts = models.PositiveSmallIntegerField(default=0)  # tasks started for it
    task_id = models.CharField(max_length=32, blank=True, db_index=True)  # its latest
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["first_seen_at", "id"]
        verbose_name_plural = "subscription entries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "archive_id"], name="subscription_entry_once"
            )
        ]

    def __str__(self):
        return f"{self.archive_id} ({self.state})"


class ListingSlot(models.Model):
    """One site's listing, held by the subscription being checked until `held_until`
    (checks.claim_check): a conditional UPDATE of this row takes it, so two workers of any
    clusters never list one site at once."""

    site = models.CharField(primary_key=True, max_length=255)
    holder = models.CharField(max_length=32, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"listing of {self.site}"
