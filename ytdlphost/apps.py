from django.apps import AppConfig


class YtdlphostConfig(AppConfig):
    name = "ytdlphost"

    def ready(self):
        from ytdlphost import (
            checks,  # noqa: F401  (registers the system checks)
            fast_path,
            health,
        )

        # Load balancers and orchestrators probe it often.
        fast_path.register_fast_get("healthz", health.healthz_answer)
