"""How key secrets are made, looked up and kept.

A secret is never stored in plaintext. Authentication finds a key by the SHA-256 digest
of its secret (an indexed equality lookup, then a constant-time comparison). The API must
also be able to show a key's secret again (/get_key, /get_keys, as the yt-dlp-host API
document requires), so a second copy is kept encrypted with Fernet.

The Fernet keys come from KEY_ENCRYPTION_KEYS; when that is empty one key is derived from
SECRET_KEY. Rotation: put the new key first in KEY_ENCRYPTION_KEYS, keep the old ones
after it, run `manage.py rotate_key_encryption`, then drop the old ones. Losing every key
that encrypted a row loses only the ability to *show* that secret; the key keeps working,
because authentication uses the digest.
"""

import base64
import hashlib
import hmac
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def digest_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_match(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest_secret(secret), stored_digest)


def fernet_key_from_secret_key(secret_key: str) -> bytes:
    material = hashlib.sha256(b"ytdlphost key encryption:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(material)


@cache
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    fernet_keys = [k.encode() for k in keys] or [fernet_key_from_secret_key(secret_key)]
    return MultiFernet([Fernet(k) for k in fernet_keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.KEY_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt_secret(secret: str) -> str:
    return cipher().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    """The plaintext, or None when no configured key can decrypt it."""
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def reencrypt_secret(token: str) -> str:
    return cipher().rotate(token.encode()).decode()
