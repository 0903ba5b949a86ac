"""Notifications to the operator through Apprise (NOTIFY_URLS, Apprise's URL syntax: ntfy,
Gotify, Discord, Telegram, e-mail, a JSON POST...), for the events of NOTIFY_ON.

Queued once the event is committed and sent by a worker of their own (tasks.notify), so a
slow or dead receiver never holds a download or a check; each URL's connect and read
timeouts are Apprise's (`cto`, `rto` in the URL, 4 s by default); a failure is logged,
never retried.
"""

import logging

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger("ytdlphost.subscriptions")

# What NOTIFY_ON may name.
EVENTS = ("downloaded", "failed", "check_failed", "paused")


def queue(event: str, title: str, body: str) -> None:
    """Have a worker send the notification once the transaction commits, when NOTIFY_ON
    names `event` and there is somewhere to send it."""
    if not settings.NOTIFY_URLS or event not in settings.NOTIFY_ON:
        return
    transaction.on_commit(
        lambda: async_task(
            "subscriptions_app.tasks.notify_operator", title, body, task_name="notify"
        )
    )


def send(title: str, body: str) -> bool:
    """Send to every NOTIFY_URLS URL; whether all of them took it."""
    sender = notifier(settings.NOTIFY_URLS)
    if sender is None:
        logger.warning("notification not sent: NOTIFY_URLS has no URL Apprise can use")
        return False
    try:
        sent = sender.notify(title=title, body=body or title)
    except Exception:  # a plugin's bug must not fail the worker's task
        logger.exception("notification %r failed", title)
        return False
    if not sent:
        logger.warning("notification %r: not every NOTIFY_URLS URL took it", title)
    return bool(sent)


def notifier(urls: str):
    """An Apprise of `urls`, or None when Apprise can use none of them."""
    import apprise  # here: 0.17 s at start that a process without notifications never pays

    sender = apprise.Apprise()
    return sender if sender.add(urls) else None
