"""The web page's session, accepted by the API next to X-API-Key, with CSRF enforced."""

import pytest
from django.test import Client

from downloads_app.models import Task
from keys_app.authentication import SESSION_KEY_DIGEST, SESSION_KEY_ID
from keys_app.models import APIKey

pytestmark = pytest.mark.django_db

URL = "http://example.com/video"


def session_client(api_key) -> tuple[Client, str]:
    """A browser-like client signed in with api_key, and its CSRF token."""
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session[SESSION_KEY_ID] = api_key.pk
    session[SESSION_KEY_DIGEST] = api_key.key_digest
    session.save()
    client.get("/")  # the page sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


def test_a_signed_in_session_reads_the_api(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, _ = session_client(api_key)
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json()["name"] == "alice"


def test_a_session_post_with_the_csrf_token_creates_a_task(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, token = session_client(api_key)
    response = client.post(
        "/get_info", {"url": URL}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200, response.json()
    assert Task.objects.filter(api_key=api_key).count() == 1


def test_a_session_post_without_the_csrf_token_is_refused(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, _ = session_client(api_key)
    response = client.post("/get_info", {"url": URL}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF Failed")
    assert not Task.objects.exists()


def test_a_session_keeps_the_key_s_permissions(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, token = session_client(api_key)
    response = client.post(
        "/get_audio", {"url": URL}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "Insufficient permissions: needs get_audio"}


def test_a_key_deleted_meanwhile_fails_and_signs_the_session_out(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, _ = session_client(api_key)
    APIKey.objects.filter(pk=api_key.pk).delete()
    response = client.get("/tasks")
    assert response.status_code == 401
    assert response.json() == {"error": "Signed out: this API key no longer exists."}
    assert SESSION_KEY_ID not in client.session
    assert client.get("/tasks").json() == {"error": "No API key provided"}


def test_a_key_given_a_new_secret_meanwhile_fails(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, _ = session_client(api_key)
    assert client.get("/me").status_code == 200
    api_key.set_secret("a-new-secret-0123456789abcdef")
    api_key.save()
    assert client.get("/me").status_code == 401


def test_session_answers_are_never_cached(make_key):
    api_key, _ = make_key("alice", ["get_info"])
    client, _ = session_client(api_key)
    cache_control = client.get("/tasks")["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control
