"""What the service keeps beside tasks: the sites it downloads from, the requests its
rate limit counts, and what the runtime updates of yt-dlp did."""

from django.db import models
from django.utils import timezone

from downloads_app.models.task import Task
from downloads_app.sites import SITE_MAX_LENGTH
from keys_app.models import APIKey


class Site(models.Model):
    """A site that tasks are downloaded from (sites.py), as its limits know it
    (site_limits.py): its row is what a claim locks to count the site's running tasks
    under SITE_CONCURRENCY, and it keeps the site's backoff after a refusal.

    A task ending `rate_limited` or `bot_check` sets `backoff_until` (and counts one more
    refusal in a row, unless the site was backing off already); a task completing resets
    `refusals`. Once `backoff_until` has passed, the maintenance queues the tasks it held
    back and clears it. Rows of sites with nothing unfinished and no refusal within
    SITE_BACKOFF_MAX are deleted by the cleanup; a claim writes one again when it needs it.
    """

    name = models.CharField(primary_key=True, max_length=SITE_MAX_LENGTH)
    refusals = models.PositiveIntegerField(default=0)  # in a row, since its last completion
    refused_at = models.DateTimeField(null=True, blank=True)
    backoff_until = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self):
        return self.name


class TaskRequest(models.Model):
    """One accepted task-creating request of a key: a new task, or a retry.

    The rate limit counts these (rate_limit.py), not tasks: a task deleted through the
    API, or run again under its own id, must not give its key a request back. Rows older
    than the window are deleted by maintenance.cleanup_expired.
    """

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="task_requests")
    task_id = models.CharField(max_length=32)  # not a foreign key: it outlives its task
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["api_key", "created_at"], name="task_request_key_created")]

    def __str__(self):
        return f"request for {self.task_id} at {self.created_at}"


def mark_renamed_key_tasks(sender, instance: APIKey, update_fields=None, **kwargs) -> None:
    """A key's new name is shown with each of its tasks in a list of every key's
    (`key_name`): connected to APIKey's pre_save (keys_app cannot import this app)."""
    if instance.pk is None or (update_fields is not None and "name" not in update_fields):
        return
    stored = APIKey.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    if stored is not None and stored != instance.name:
        Task.objects.filter(api_key_id=instance.pk).mark_changed()


class YtdlpEvent(models.Model):
    """What the runtime updates of yt-dlp did (downloads_app/ytdlp_updates.py), one row per
    check, newest last: shown by /healthz and the admin. A version with a `refused` or
    `rolled_back` row is not tried again by the schedule, on any machine of the database;
    which version each machine runs is its own DATA_DIR's (ytdlp_versions.py)."""

    class Kind(models.TextChoices):
        UP_TO_DATE = "up_to_date"  # nothing newer to install (or only refused versions)
        UPDATED = "updated"  # passed the canary and became current
        REFUSED = "refused"  # failed the canary: nothing changed
        FAILED = "failed"  # the check itself failed (no network, the index said no)
        ROLLED_BACK = "rolled_back"  # was current, and was replaced by the previous one

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.CharField(max_length=50, blank=True)  # the version it concerns
    current = models.CharField(max_length=50)  # the host's version after it
    host = models.CharField(max_length=100)  # processes.this_host()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "yt-dlp update"

    def __str__(self):
        return f"{self.kind} {self.version}".strip()
