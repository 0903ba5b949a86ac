import logging

from django.conf import settings

from keys_app.models import PERMISSIONS, APIKey

logger = logging.getLogger("ytdlphost.keys")

ADMIN_KEY_NAME = "admin"


def seed_admin_key(using="default", **kwargs):
    """On an empty database, create the `admin` key so the owner can get in.

    Its secret is ADMIN_API_KEY when set; otherwise a new one, printed to the log this
    once (it can be read again later with /get_key/admin or in the Django admin).
    """
    keys = APIKey.objects.db_manager(using)
    if keys.exists():
        return
    # No request limit: the key holds every permission, so a limit protects nothing, and
    # it would lock its owner out of the web page (each quality lookup is a task).
    api_key, secret = keys.create_key(
        ADMIN_KEY_NAME, PERMISSIONS, secret=settings.ADMIN_API_KEY or None, request_limit=0
    )
    if settings.ADMIN_API_KEY:
        logger.warning("Created the '%s' API key with the secret from ADMIN_API_KEY", api_key.name)
    else:
        logger.warning(admin_secret_banner(api_key.name, secret))


def admin_secret_banner(name: str, secret: str) -> str:
    """The secret between rules, on lines of its own: among a first start's dozens of log
    lines, a newcomer missed it. Still one line to grep for, secret included (README,
    scripts/container-check.sh)."""
    rule = "=" * 78
    return (
        f"\n{rule}\n"
        f"  Created the '{name}' API key. Its secret, shown this once: {secret}\n"
        f"  Send it as X-API-Key, or sign in with it on the web page; /get_key/{name} and\n"
        "  the Django admin show it again.\n"
        f"{rule}"
    )
