"""What is left to delete in the bucket (STORAGE=s3): a task's objects whose delete has not
succeeded yet (downloads_app/storage.py)."""

from django.db import models


class BucketDeletion(models.Model):
    """The objects under a deleted task's prefix, still to be deleted from the bucket.

    Written in the transaction that deletes the task's row (maintenance.cleanup_expired,
    lifecycle.task_delete), so a crash or an unreachable bucket right after the commit
    loses nothing; deleted once the bucket holds nothing under the prefix any more
    (storage.delete_pending). Every cleanup tries again those that are left. A row of its
    own rather than a mark on the tombstone: a task deleted on purpose leaves no
    tombstone, and tombstones are forgotten after TASK_TOMBSTONE_DAYS whatever the bucket
    still holds.
    """

    task_id = models.CharField(primary_key=True, max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self):
        return f"objects of task {self.task_id}"
