import logging

import pytest
from django.core.management import call_command

from keys_app.models import PERMISSIONS, APIKey
from keys_app.seeding import seed_admin_key

pytestmark = pytest.mark.django_db


def test_create_admin_key_prints_a_working_secret_last(capsys):
    call_command("create_admin_key", "--name", "ops")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    api_key = APIKey.objects.get_by_secret(last_line)
    assert api_key.name == "ops"
    assert set(api_key.permissions) == set(PERMISSIONS)


def test_create_admin_key_uses_the_given_secret(capsys):
    call_command("create_admin_key", "--name", "ops", "--key", "a-chosen-secret-1234")
    assert capsys.readouterr().out.strip().splitlines()[-1] == "a-chosen-secret-1234"
    assert APIKey.objects.get_by_secret("a-chosen-secret-1234").name == "ops"


def test_create_admin_key_run_twice_reports_and_keeps_the_first(capsys):
    call_command("create_admin_key", "--name", "ops")
    first_secret = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("create_admin_key", "--name", "ops")
    output = capsys.readouterr()
    assert "already exists" in output.err
    assert first_secret not in output.out
    assert APIKey.objects.filter(name="ops").count() == 1
    assert APIKey.objects.get_by_secret(first_secret).name == "ops"


def test_first_start_seeds_an_admin_key_and_logs_its_secret_once(caplog):
    APIKey.objects.all().delete()
    with caplog.at_level(logging.WARNING):
        seed_admin_key()
    admin = APIKey.objects.get(name="admin")
    assert set(admin.permissions) == set(PERMISSIONS)
    assert admin.secret in caplog.text
    caplog.clear()
    seed_admin_key()
    assert APIKey.objects.count() == 1
    assert caplog.text == ""


def test_first_start_uses_admin_api_key_without_logging_it(settings, caplog):
    APIKey.objects.all().delete()
    settings.ADMIN_API_KEY = "operator-chosen-secret"
    with caplog.at_level(logging.WARNING):
        seed_admin_key()
    assert APIKey.objects.get_by_secret("operator-chosen-secret").name == "admin"
    assert "operator-chosen-secret" not in caplog.text


def test_seeding_leaves_a_database_with_keys_alone(make_key):
    APIKey.objects.all().delete()
    make_key("someone", ["get_info"])
    seed_admin_key()
    assert list(APIKey.objects.values_list("name", flat=True)) == ["someone"]


def test_the_keys_made_for_the_owner_have_no_request_limit_unless_one_is_given(capsys):
    # The admin key holds every permission: a limit protects nothing, and it broke the
    # page for its owner (each quality lookup is a task).
    APIKey.objects.all().delete()
    seed_admin_key()
    call_command("create_admin_key", "--name", "ops")
    call_command("create_admin_key", "--name", "limited", "--request-limit", "5")
    limits = dict(APIKey.objects.values_list("name", "request_limit"))
    assert limits == {"admin": 0, "ops": 0, "limited": 5}
    assert APIKey.objects.get(name="admin").effective_request_limit is None


def test_the_generated_secret_stands_out_between_rules_on_a_line_of_its_own(caplog):
    APIKey.objects.all().delete()
    with caplog.at_level(logging.WARNING):
        seed_admin_key()
    secret = APIKey.objects.get(name="admin").secret
    [record] = caplog.records
    lines = record.getMessage().split("\n")
    assert lines[0] == ""  # after the log line's prefix, the banner starts on a line of its own
    assert lines[1] == lines[-1] == "=" * 78
    assert f"  Created the 'admin' API key. Its secret, shown this once: {secret}" in lines
