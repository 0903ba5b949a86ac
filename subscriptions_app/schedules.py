from downloads_app.schedules import ensure_schedule

CHECKS_SCHEDULE_NAME = "ytdlphost-subscription-checks"


def ensure_checks_schedule(using="default", **kwargs):
    """Create (or repair) the schedule that queues the due subscriptions' checks every
    minute."""
    ensure_schedule(CHECKS_SCHEDULE_NAME, "subscriptions_app.tasks.queue_due_checks", using)
