from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from keys_app.models import AdminLoginFailure

pytestmark = pytest.mark.django_db

REFUSED = b"Too many failed login attempts"


@pytest.fixture(autouse=True)
def owner(settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 5
    settings.ADMIN_LOGIN_WINDOW = 15.0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    return User.objects.create_superuser("owner", "owner@example.com", "right-password")


def log_in(username, password, address="10.0.0.1"):
    """(logged in?, the page answered)."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return "_auth_user_id" in client.session, response.content


def fail(times, username="owner", address="10.0.0.1"):
    for _ in range(times):
        logged_in, page = log_in(username, "wrong", address)
        assert not logged_in
        assert REFUSED not in page


def test_the_right_password_logs_in_after_fewer_failures_than_the_limit():
    fail(4)
    assert log_in("owner", "right-password")[0]


def test_five_failures_refuse_even_the_right_password():
    fail(5)
    logged_in, page = log_in("owner", "right-password")
    assert not logged_in
    assert REFUSED in page
    assert b"refused for 15 minutes" in page


def test_failures_for_one_username_lock_it_from_every_address():
    for number in range(5):
        fail(1, address=f"10.0.0.{number + 1}")
    assert not log_in("owner", "right-password", address="10.9.9.9")[0]
    assert not log_in("OWNER", "right-password", address="10.9.9.9")[0]  # case-folded


def test_failures_from_one_address_lock_it_for_every_username():
    User.objects.create_superuser("other", "other@example.com", "other-password")
    for number in range(5):
        fail(1, username=f"guess{number}", address="10.6.6.6")
    logged_in, page = log_in("other", "other-password", address="10.6.6.6")
    assert not logged_in
    assert REFUSED in page
    assert log_in("other", "other-password", address="10.7.7.7")[0]


def test_the_lock_ends_when_the_failures_leave_the_window():
    fail(5)
    assert not log_in("owner", "right-password")[0]
    # Refused attempts are not counted: moving the five failures out of the window ends it.
    AdminLoginFailure.objects.update(attempted_at=timezone.now() - timedelta(minutes=15))
    assert log_in("owner", "right-password")[0]
    assert not AdminLoginFailure.objects.exists()  # old rows pruned, success not kept


def test_a_successful_login_leaves_no_record():
    assert log_in("owner", "right-password")[0]
    assert not AdminLoginFailure.objects.exists()
