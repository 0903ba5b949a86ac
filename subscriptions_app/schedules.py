from django_q.models import Schedule

CHECKS_SCHEDULE_NAME = "ytdlphost-subscription-checks"


def ensure_checks_schedule(using="default", **kwargs):
    """Create (or repair) the schedule that queues the due subscriptions' checks every
    minute. Idempotent."""
    Schedule.objects.using(using).update_or_create(
        name=CHECKS_SCHEDULE_NAME,
        defaults={
            "func": "subscriptions_app.tasks.queue_due_checks",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
