"""The web page's sign-in (page_app/views.py sign_in_view), as a browser posts it: a new
CSRF token once signed in, and guessing keys throttled as the admin login throttles
passwords (keys_app/login_throttle.py), issue 20."""

import pytest
from django.conf import settings
from django.test import Client

from keys_app.models import AdminLoginFailure

pytestmark = pytest.mark.django_db

THROTTLED = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 5
    settings.ADMIN_LOGIN_WINDOW = 15.0


@pytest.fixture
def secret(make_key):
    return make_key("viewer", ["get_info"])[1]


def browser(address="10.0.0.1") -> Client:
    """A browser that has loaded the sign-in page: it holds the page's CSRF cookie and
    sends its token back, as the form does."""
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    assert client.get("/").status_code == 200
    return client


def sign_in(client: Client, key: str):
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post("/sign_in", {"key": key, "csrfmiddlewaretoken": token})


def signed_in(client: Client) -> bool:
    return b'id="sign-in-heading"' not in client.get("/").content


def test_signing_in_rotates_the_csrf_token(secret):
    client = browser()
    before = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert sign_in(client, secret).status_code == 302
    after = client.cookies[settings.CSRF_COOKIE_NAME].value
    # A token planted or read before signing in is worthless afterwards.
    assert after != before and signed_in(client)


def test_wrong_keys_are_throttled_and_then_even_the_right_one_is_refused(secret):
    client = browser()
    for _ in range(5):
        response = sign_in(client, "wrong-key-" + "x" * 30)
        assert response.status_code == 400 and THROTTLED not in response.content.decode()
    refused = sign_in(client, secret)
    assert refused.status_code == 429 and THROTTLED in refused.content.decode()
    assert not signed_in(client)
    # Another address is not locked out by this one's guesses.
    other = browser("10.0.0.2")
    assert sign_in(other, secret).status_code == 302 and signed_in(other)


def test_a_successful_sign_in_leaves_no_failure_counted(secret):
    client = browser()
    sign_in(client, "wrong-key-" + "x" * 30)
    assert sign_in(client, secret).status_code == 302
    assert AdminLoginFailure.objects.count() == 1  # the wrong key's only
