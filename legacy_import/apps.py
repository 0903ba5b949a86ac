from django.apps import AppConfig


class LegacyImportConfig(AppConfig):
    name = "legacy_import"
    verbose_name = "Import from yt-dlp-host"
