from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_save


class DownloadsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "downloads_app"
    verbose_name = "Downloads"

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        # As Django starts, before any app's models or ready() (the admin's autodiscovery
        # imports errors.py, which imports yt_dlp): this host's current yt-dlp first on
        # sys.path, an update from DATA_DIR or the image's own (ytdlp_versions.py).
        from downloads_app import ytdlp_versions

        ytdlp_versions.activate()

    def ready(self):
        # Importing checks registers the system checks.
        from downloads_app import checks, connection_guard, url_policy  # noqa: F401
        from downloads_app.metrics import QuotaGauges, SiteBackoffGauges, TaskGauges, YtdlpInfo
        from downloads_app.schedules import ensure_cleanup_schedule, ensure_ytdlp_update_schedule
        from keys_app import webhook_policy
        from ytdlphost import health, metrics

        metrics.register_collector(TaskGauges())
        metrics.register_collector(SiteBackoffGauges())
        metrics.register_collector(QuotaGauges())
        # /healthz says which sites back off, and until when.
        from downloads_app import site_limits

        health.register_check("sites", site_limits.health_check, "site backoffs unreadable")
        metrics.register_collector(YtdlpInfo())
        # /healthz's `yt_dlp`: the version this host runs and its updates.
        from downloads_app import ytdlp_updates

        health.register_check("yt_dlp", ytdlp_updates.health, "yt-dlp's state unavailable")
        # /healthz's `storage`: the bucket answers (STORAGE=s3).
        from downloads_app import storage

        if storage.remote():
            health.register_check("storage", storage.health_check, "file storage unreachable")
        # /status and /tasks off Django's request cycle, and their `?wait=S`.
        from downloads_app import fast_routes

        fast_routes.register()
        # A key's default webhook URL follows the rule of a task's own (keys_app cannot
        # import it).
        webhook_policy.register_url_check(url_policy.check_url)
        # A renamed key changes the lists that show its name (the task list's signal).
        from downloads_app.models import mark_renamed_key_tasks
        from keys_app.models import APIKey

        pre_save.connect(mark_renamed_key_tasks, sender=APIKey, dispatch_uid="renamed_key")

        # Ctrl-C interrupts a worker's running task (supervisor.py).
        from django_q.signals import post_spawn

        from downloads_app import supervisor

        post_spawn.connect(supervisor.interrupt_on_sigint, dispatch_uid="interrupt_on_sigint")
        # Each task's child inherits a warm yt-dlp from its worker.
        post_spawn.connect(supervisor.warm_up_worker, dispatch_uid="warm_up_worker")

        # Explicit, so every process that runs a download has it: web, worker, and the
        # children a worker forks (they inherit it).
        connection_guard.install()
        # Every YoutubeDL() reuses the extractor list instead of working it out again.
        from downloads_app import extractor_list

        extractor_list.install()

        # After `migrate`, which every way of starting the service runs first, so the
        # schedule exists however the service was started.
        post_migrate.connect(ensure_cleanup_schedule, sender=self)
        post_migrate.connect(ensure_ytdlp_update_schedule, sender=self)
