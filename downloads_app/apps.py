from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DownloadsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "downloads_app"
    verbose_name = "Downloads"

    def ready(self):
        from downloads_app.metrics import TaskGauges
        from downloads_app.schedules import ensure_cleanup_schedule
        from ytdlphost import metrics

        metrics.register_collector(TaskGauges())

        # After `migrate`, which every way of starting the service runs first, so the
        # schedule exists however the service was started.
        post_migrate.connect(ensure_cleanup_schedule, sender=self)
