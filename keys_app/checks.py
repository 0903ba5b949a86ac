"""System checks of the keys app (registered from KeysAppConfig.ready())."""

from django.conf import settings
from django.core.checks import Warning, register

from keys_app.models import MIN_SECRET_LENGTH


@register()
def admin_api_key_is_long_enough(app_configs, **kwargs):
    if settings.ADMIN_API_KEY and len(settings.ADMIN_API_KEY) < MIN_SECRET_LENGTH:
        return [
            Warning(
                f"ADMIN_API_KEY is shorter than {MIN_SECRET_LENGTH} characters",
                id="ytdlphost.W001",
            )
        ]
    return []
