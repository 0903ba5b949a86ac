"""System checks of the subscriptions' settings (`manage.py check`, run by the start
scripts): a misspelt NOTIFY_ON event or a NOTIFY_URLS URL Apprise cannot use would
otherwise only show as notifications that never come."""

from django.conf import settings
from django.core.checks import Error, register

from subscriptions_app.notify import EVENTS, notifier


@register()
def notifications_are_configured(app_configs, **kwargs):
    problems = []
    unknown = sorted(set(settings.NOTIFY_ON) - set(EVENTS))
    if unknown:
        problems.append(
            Error(
                f"NOTIFY_ON names unknown events: {', '.join(unknown)}",
                hint=f"Use some of: {', '.join(EVENTS)}",
                id="subscriptions_app.E001",
            )
        )
    if settings.NOTIFY_URLS and notifier(settings.NOTIFY_URLS) is None:
        problems.append(
            Error(
                "NOTIFY_URLS holds no URL Apprise can use",
                hint="See https://appriseit.com/ for each service's URL",
                id="subscriptions_app.E002",
            )
        )
    return problems
