from django_q.models import Schedule

CLEANUP_SCHEDULE_NAME = "ytdlphost-cleanup"


def ensure_minutely_schedule(name: str, func: str, using="default") -> None:
    """Create (or repair) the schedule `name` that runs `func` every minute. Idempotent."""
    Schedule.objects.using(using).update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


def ensure_cleanup_schedule(using="default", **kwargs):
    """Create (or repair) the schedule that runs cleanup every minute."""
    ensure_minutely_schedule(CLEANUP_SCHEDULE_NAME, "downloads_app.tasks.cleanup", using)
