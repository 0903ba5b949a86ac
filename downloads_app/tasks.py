"""django-q2 entry points: each takes ids and hands over to a service."""

from downloads_app import services


def run_task(task_id: str) -> None:
    services.task_run(task_id)


def cleanup() -> dict:
    """The every-minute maintenance: recover interrupted tasks, delete expired ones."""
    return {**services.task_recover_interrupted(), **services.cleanup_expired()}
