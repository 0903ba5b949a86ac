"""django-q2 entry points: each takes ids and hands over to a service."""

from subscriptions_app import checks, notify


def queue_due_checks() -> dict:
    return checks.queue_due_checks()


def check_subscription(subscription_id: str) -> None:
    checks.check(subscription_id)


def notify_operator(title: str, body: str) -> bool:
    return notify.send(title, body)
