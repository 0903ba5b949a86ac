"""What the byte quotas count (downloads_app/quotas.py): the bytes tasks wrote, by task and
time bucket, and the row whose lock makes the server's quota exact."""

from django.db import models

from keys_app.models import APIKey


class ByteUsage(models.Model):
    """Bytes a task wrote within one time bucket, the one that ends at `bucket_end`
    (quotas.bucket_end: a hundredth of QUOTA_WINDOW, at least a second).

    The worker running the task adds to its bucket's row as the download grows, so the
    bytes of a key, or of the server, in the rolling QUOTA_WINDOW are one SUM over these
    rows, whichever machine wrote them. Bytes leave the window at their bucket's end plus
    the window: never before they were written plus the window, at most a bucket later.
    Rows outlive their task (a deleted task gives no bytes back) and their key (the
    server's quota still counts them); maintenance deletes those that left the window.
    """

    api_key = models.ForeignKey(
        APIKey, null=True, on_delete=models.SET_NULL, related_name="byte_usage"
    )
    task_id = models.CharField(max_length=32)  # not a foreign key: it outlives its task
    bucket_end = models.DateTimeField()
    bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_id", "bucket_end"], name="byte_usage_task_bucket")
        ]
        indexes = [
            models.Index(fields=["api_key", "bucket_end"], name="byte_usage_key_bucket"),
            models.Index(fields=["bucket_end"], name="byte_usage_bucket"),
        ]

    def __str__(self):
        return f"{self.bytes} bytes of {self.task_id} until {self.bucket_end}"


class QuotaLock(models.Model):
    """One row, locked (SELECT ... FOR UPDATE) while a submission reserves bytes of the
    server's quota, so that concurrent submissions of different keys, on any web process,
    see each other's reservations (as a key's own row serializes its own)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    def __str__(self):
        return "the server's byte quota"
