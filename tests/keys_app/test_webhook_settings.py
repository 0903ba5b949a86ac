"""A key's webhook settings: its default webhook URL and its signing secret."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from standardwebhooks.webhooks import Webhook

from keys_app import crypto
from keys_app.models import APIKey

pytestmark = pytest.mark.django_db


def test_create_key_returns_the_new_keys_signing_secret(admin_client):
    response = admin_client.post(
        "/create_key", {"name": "bot", "permissions": ["get_info"]}, format="json"
    )
    assert response.status_code == 201
    webhook_secret = response.json()["webhook_secret"]
    assert webhook_secret.startswith("whsec_")
    Webhook(webhook_secret)  # a secret the standardwebhooks package accepts
    assert APIKey.objects.get(name="bot").webhook_secret == webhook_secret


def test_get_key_shows_the_default_webhook_url_and_the_signing_secret(admin_client):
    admin_client.post(
        "/create_key",
        {"name": "bot", "permissions": ["get_info"], "webhook_url": "https://example.com/hook"},
        format="json",
    )
    body = admin_client.get("/get_key/bot").json()
    assert body["webhook_url"] == "https://example.com/hook"
    assert body["webhook_secret"] == APIKey.objects.get(name="bot").webhook_secret
    assert body["key"]  # what the published client reads is still there


def test_get_keys_hides_the_signing_secret_of_a_key_the_caller_does_not_cover(make_key, client_for):
    make_key("strong", ["get_info", "get_video"])
    _, secret = make_key("weak", ["get_info", "get_keys"])
    body = client_for(secret).get("/get_keys").json()
    assert body["strong"]["key"] is None and body["strong"]["webhook_secret"] is None
    assert body["weak"]["webhook_secret"].startswith("whsec_")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "must be an http or https URL"),
        ("http://10.0.0.1/hook", "ALLOW_PRIVATE_URLS"),
        ("hook", "must be an http or https URL"),
    ],
)
def test_a_default_webhook_url_is_checked_like_task_urls(admin_client, settings, url, reason):
    settings.ALLOW_PRIVATE_URLS = False
    response = admin_client.post(
        "/create_key", {"name": "bot", "permissions": [], "webhook_url": url}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("webhook_url")
    assert reason in response.json()["error"]
    assert not APIKey.objects.filter(name="bot").exists()


def test_the_signing_secret_is_not_stored_in_plaintext(make_key):
    api_key, _ = make_key("bot", ["get_info"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM keys_app_apikey WHERE id = %s", [api_key.pk])
        row = cursor.fetchone()
    assert not any(api_key.webhook_secret in str(column) for column in row)
    assert crypto.decrypt_secret(api_key.webhook_secret_encrypted) == api_key.webhook_secret


def test_the_command_rotates_a_keys_signing_secret(make_key, capsys):
    api_key, _ = make_key("bot", ["get_info"])
    before = api_key.webhook_secret
    call_command("rotate_webhook_secret", "BOT")
    api_key.refresh_from_db()
    assert api_key.webhook_secret != before
    assert api_key.webhook_secret in capsys.readouterr().out


def test_rotating_the_encryption_key_keeps_signing_secrets_readable(
    make_key, rotate_key_encryption
):
    api_key, _ = make_key("bot", ["get_info"])
    webhook_secret = api_key.webhook_secret
    rotate_key_encryption()
    api_key.refresh_from_db()
    assert api_key.webhook_secret == webhook_secret


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("owner", "owner@example.com", "pw"))
    return client


def test_the_admin_rotates_the_signing_secret_of_selected_keys(staff_client, make_key):
    api_key, _ = make_key("bot", ["get_info"])
    before = api_key.webhook_secret
    response = staff_client.post(
        "/admin/keys_app/apikey/",
        {"action": "rotate_webhook_secret", "_selected_action": [api_key.pk]},
        follow=True,
    )
    api_key.refresh_from_db()
    assert api_key.webhook_secret != before
    assert api_key.webhook_secret.encode() in response.content


def test_the_admin_edits_the_default_webhook_url_under_the_same_rule(
    staff_client, make_key, settings
):
    settings.ALLOW_PRIVATE_URLS = False
    api_key, _ = make_key("bot", ["get_info"])
    change = f"/admin/keys_app/apikey/{api_key.pk}/change/"
    form = {"name": "bot", "permissions": ["get_info"], "request_limit": ""}
    refused = staff_client.post(change, {**form, "webhook_url": "http://192.168.1.1/hook"})
    assert refused.status_code == 200 and b"ALLOW_PRIVATE_URLS" in refused.content
    staff_client.post(change, {**form, "webhook_url": "https://93.184.215.14/hook"})
    api_key.refresh_from_db()
    assert api_key.webhook_url == "https://93.184.215.14/hook"
