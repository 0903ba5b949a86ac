from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SubscriptionsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions_app"
    verbose_name = "Subscriptions"

    def ready(self):
        from downloads_app.signals import task_ended
        from subscriptions_app import system_checks  # noqa: F401  (registers them)
        from subscriptions_app.archive import record_task_end
        from subscriptions_app.schedules import ensure_checks_schedule

        # A subscription's task ended: its archive entry follows (downloads_app cannot
        # import this app).
        task_ended.connect(record_task_end, dispatch_uid="subscription_task_ended")
        post_migrate.connect(ensure_checks_schedule, sender=self)
