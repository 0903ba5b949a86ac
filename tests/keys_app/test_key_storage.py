import pytest
from django.db import connection

from keys_app import crypto
from keys_app.models import APIKey

pytestmark = pytest.mark.django_db


def test_the_secret_is_not_stored_in_plaintext(make_key):
    api_key, secret = make_key("bot", ["get_info"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM keys_app_apikey WHERE id = %s", [api_key.pk])
        row = cursor.fetchone()
    assert row is not None
    assert not any(secret in str(column) for column in row)
    assert api_key.key_digest == crypto.digest_secret(secret)


def test_a_key_is_found_by_its_secret_only(make_key):
    api_key, secret = make_key("bot", ["get_info"])
    assert APIKey.objects.get_by_secret(secret) == api_key
    assert APIKey.objects.get_by_secret(secret + "x") is None
    assert APIKey.objects.get_by_secret(api_key.key_digest) is None


def test_rotating_the_encryption_key_keeps_secrets_readable(make_key, rotate_key_encryption):
    api_key, secret = make_key("bot", ["get_info"])
    rotate_key_encryption()
    api_key.refresh_from_db()
    assert api_key.secret == secret


def test_a_secret_sealed_by_a_lost_key_still_authenticates(make_key, settings):
    from cryptography.fernet import Fernet

    api_key, secret = make_key("bot", ["get_info"])
    settings.KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    api_key.refresh_from_db()
    assert api_key.secret is None
    assert APIKey.objects.get_by_secret(secret) == api_key
