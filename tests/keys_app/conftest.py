import pytest


@pytest.fixture
def rotate_key_encryption(settings):
    """rotate_key_encryption(): what an operator does to change the key that encrypts
    stored secrets: a new key first in KEY_ENCRYPTION_KEYS (the old one after it), the
    rotate_key_encryption command, then the old key removed."""
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from keys_app import crypto

    def rotate() -> None:
        old_key = crypto.fernet_key_from_secret_key(settings.SECRET_KEY).decode()
        new_key = Fernet.generate_key().decode()
        settings.KEY_ENCRYPTION_KEYS = [new_key, old_key]
        call_command("rotate_key_encryption")
        settings.KEY_ENCRYPTION_KEYS = [new_key]

    return rotate
