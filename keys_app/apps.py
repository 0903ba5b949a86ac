from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KeysAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "keys_app"
    verbose_name = "API keys"

    def ready(self):
        # Registers the system checks, and the OpenAPI extensions (the X-API-Key scheme)
        # with drf-spectacular.
        from keys_app import checks, schema  # noqa: F401
        from keys_app.authentication import HEADER
        from keys_app.seeding import seed_admin_key
        from ytdlphost import request_guard

        # Two keys in one request would be read as one key by one route and as another
        # (or a comma-joined none) by the next: refused before any route reads them.
        request_guard.refuse_repeated(HEADER)

        # After `migrate`, which every way of starting the service runs first.
        post_migrate.connect(seed_admin_key, sender=self)
