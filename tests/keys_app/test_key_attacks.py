"""Attacks on keys and on the admin login, against the real stack (gunicorn, two web
processes, qcluster) in the attack environment of tests/support/hostile.py."""

import re
import subprocess
import sys

import pytest
import requests

from tests.support.hostile import attack_env
from tests.support.stack import REPO, LiveStack

pytestmark = pytest.mark.e2e

OWNER_PASSWORD = "the-owners-real-password"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = attack_env(REQUEST_LIMIT="20", ADMIN_LOGIN_MAX_FAILURES="5")
    with LiveStack(tmp_path_factory.mktemp("key-attacks"), env=env) as running:
        subprocess.run(
            [sys.executable, "manage.py", "createsuperuser", "--noinput",
             "--username", "owner", "--email", "owner@example.com"],
            cwd=REPO, env={**running.env, "DJANGO_SUPERUSER_PASSWORD": OWNER_PASSWORD},
            check=True, capture_output=True,
        )  # fmt: skip
        yield running


def call(stack, secret, method, path, **kwargs):
    return requests.request(
        method, f"{stack.base_url}{path}", headers={"X-API-Key": secret}, timeout=10, **kwargs
    )


def test_a_get_key_key_cannot_read_the_admin_secret(stack):
    reader = stack.create_key("only-get-key", ["get_key"])
    response = call(stack, reader, "GET", "/get_key/admin")
    assert response.status_code == 403
    assert "create_key" in response.json()["error"]
    assert stack.admin_key not in response.text


def test_get_keys_shows_no_secret_of_a_stronger_key(stack):
    lister = stack.create_key("lister", ["get_keys", "get_info"])
    weak = stack.create_key("weak-info", ["get_info"])
    response = call(stack, lister, "GET", "/get_keys")
    assert response.status_code == 200
    assert stack.admin_key not in response.text
    keys = response.json()
    assert keys["admin"]["key"] is None
    assert keys["weak-info"]["key"] == weak


def test_create_key_cannot_grant_a_request_limit_above_the_creators(stack):
    creator = stack.create_key("creator", ["create_key", "get_info"], request_limit=3)
    response = call(
        stack, creator, "POST", "/create_key",
        json={"name": "greedy", "permissions": ["get_info"], "request_limit": 1000},
    )  # fmt: skip
    assert response.status_code == 403
    assert "request limit of 1000, above your own 3" in response.json()["error"]
    assert call(stack, stack.admin_key, "GET", "/get_key/greedy").status_code == 404


def test_delete_key_cannot_delete_a_stronger_key(stack):
    deleter = stack.create_key("deleter", ["delete_key", "get_info"])
    stronger = stack.create_key("downloader", ["get_info", "get_video"])
    response = call(stack, deleter, "DELETE", "/delete_key/downloader")
    assert response.status_code == 403
    assert "Cannot delete the key 'downloader'" in response.json()["error"]
    check = call(stack, stronger, "POST", "/check_permissions", json={"permissions": []})
    assert check.status_code == 200


@pytest.mark.parametrize("name", ["ａｄｍｉｎ", "Admin"])
def test_a_name_that_passes_for_admin_cannot_be_created(stack, name):
    response = call(
        stack, stack.admin_key, "POST", "/create_key", json={"name": name, "permissions": []}
    )
    assert response.status_code == 409
    assert "already exists" in response.json()["error"]
    assert list(call(stack, stack.admin_key, "GET", "/get_keys").json()).count(name) == 0


def admin_login(stack, password) -> tuple[bool, str]:
    """(logged in?, the page answered), through a fresh session as a browser would."""
    session = requests.Session()
    form = session.get(f"{stack.base_url}/admin/login/", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    response = session.post(
        f"{stack.base_url}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "owner", "password": password},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    return response.status_code == 302 and "sessionid" in session.cookies, response.text


def test_six_wrong_admin_logins_refuse_the_right_password(stack):
    assert admin_login(stack, OWNER_PASSWORD)[0]  # the password is right
    for _ in range(6):
        assert admin_login(stack, "a-guess")[0] is False
    logged_in, page = admin_login(stack, OWNER_PASSWORD)
    assert not logged_in
    assert "Too many failed login attempts" in page
