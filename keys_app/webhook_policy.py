"""Which webhook URLs a key may carry, and the signing secrets of its webhooks.

The rule on which URLs the server may reach lives in downloads_app (url_policy), which
keys_app must not import; downloads_app registers it here from its ready() (the later app
registers itself with the earlier one). A key's default webhook URL is then checked by
the same rule as a task's own `webhook_url`, through the API and in the admin.

Signing secrets follow Standard Webhooks: `whsec_` and the base64 of 32 random bytes.
"""

import base64
import secrets
from collections.abc import Callable

from django.core.exceptions import ValidationError

SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix Standard Webhooks defines)
MAX_URL_LENGTH = 2048

# Each check raises ValueError with a message when a URL may not be used.
_url_checks: list[Callable[[str], None]] = []


def register_url_check(check: Callable[[str], None]) -> None:
    if check not in _url_checks:
        _url_checks.append(check)


def validate_webhook_url(url: str) -> None:
    """A model and serializer validator; blank means no default webhook."""
    if not url:
        return
    for check in _url_checks:
        try:
            check(url)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def generate_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
