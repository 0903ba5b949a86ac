from django.apps import AppConfig


class DownloadsAppConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'downloads_app'
