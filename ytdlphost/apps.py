from django.apps import AppConfig


class YtdlphostConfig(AppConfig):
    name = "ytdlphost"

    def ready(self):
        from ytdlphost import checks  # noqa: F401  (registers the system checks)
