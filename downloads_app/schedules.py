from django_q.models import Schedule

CLEANUP_SCHEDULE_NAME = "ytdlphost-cleanup"


def ensure_cleanup_schedule(using="default", **kwargs):
    """Create (or repair) the schedule that runs cleanup every minute. Idempotent."""
    Schedule.objects.using(using).update_or_create(
        name=CLEANUP_SCHEDULE_NAME,
        defaults={
            "func": "downloads_app.tasks.cleanup",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
