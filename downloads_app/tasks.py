"""django-q2 entry points: each takes ids and hands over to a service."""

from downloads_app import maintenance, runner, webhooks, ytdlp_updates


def run_task(task_id: str) -> None:
    runner.task_run(task_id)


def deliver_webhook(delivery_id: str) -> None:
    webhooks.deliver(delivery_id)


def cleanup() -> dict:
    """The every-minute maintenance: recover interrupted tasks, queue the tasks of sites
    whose backoff ended, delete expired ones, queue due webhook deliveries."""
    return {
        **maintenance.task_recover_interrupted(),
        **maintenance.resume_sites(),
        **maintenance.requeue_lost_messages(),
        **maintenance.cleanup_expired(),
        **webhooks.maintain(),
    }


def update_ytdlp() -> dict:
    """The schedule's check for a new yt-dlp (YTDLP_UPDATE)."""
    return ytdlp_updates.scheduled_update()
