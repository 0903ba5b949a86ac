"""django-q2 entry points: each takes ids and hands over to a service."""

from downloads_app import services, webhooks


def run_task(task_id: str) -> None:
    services.task_run(task_id)


def deliver_webhook(delivery_id: str) -> None:
    webhooks.deliver(delivery_id)


def cleanup() -> dict:
    """The every-minute maintenance: recover interrupted tasks, delete expired ones, queue
    due webhook deliveries."""
    return {
        **services.task_recover_interrupted(),
        **services.requeue_lost_messages(),
        **services.cleanup_expired(),
        **webhooks.maintain(),
    }
