"""`manage.py ensure_admin_user` (run.sh runs it): the Django admin's superuser from
ADMIN_USER and ADMIN_PASSWORD, created once, updated when they change, never logged."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def ensure(settings, user="owner", password=PASSWORD) -> str:
    settings.ADMIN_USER, settings.ADMIN_PASSWORD = user, password
    out = StringIO()
    call_command("ensure_admin_user", stdout=out)
    return out.getvalue()


def test_it_creates_a_superuser_that_can_log_in(settings, client):
    output = ensure(settings)
    assert "Created the admin user 'owner'" in output
    assert PASSWORD not in output
    assert client.login(username="owner", password=PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_it_is_idempotent(settings):
    ensure(settings)
    assert "up to date" in ensure(settings)
    assert User.objects.filter(username="owner").count() == 1


def test_a_new_password_replaces_the_old_one(settings):
    ensure(settings)
    output = ensure(settings, password="another long passphrase")
    assert "Updated the admin user 'owner'" in output
    assert "another long passphrase" not in output
    assert User.objects.get(username="owner").check_password("another long passphrase")


def test_an_existing_user_becomes_a_superuser(settings):
    User.objects.create_user("owner", password=PASSWORD)
    ensure(settings)
    user = User.objects.get(username="owner")
    assert user.is_staff and user.is_superuser


def test_it_does_nothing_without_the_settings(settings):
    assert ensure(settings, user="", password="") == ""
    assert not User.objects.exists()


def test_one_setting_without_the_other_is_an_error(settings):
    with pytest.raises(CommandError, match="ADMIN_USER and ADMIN_PASSWORD"):
        ensure(settings, password="")
