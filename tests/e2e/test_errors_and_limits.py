"""Through the real stack (gunicorn + qcluster): a key sees its limits without hitting
them (RateLimit-* headers, GET /me), and errors say what to do about them."""

import pytest
import requests

from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"REQUEST_LIMIT": "3", "TASK_CLEANUP_TIME": "10"}
    with LiveStack(tmp_path_factory.mktemp("errors"), env=env) as running:
        yield running


def call(stack, method, path, key, headers=None, **kwargs):
    headers = {"X-API-Key": key, **(headers or {})}
    return requests.request(
        method, f"{stack.base_url}{path}", headers=headers, timeout=30, **kwargs
    )


def test_a_key_sees_its_limit_count_down_in_headers_and_on_me(stack, media_server):
    key = stack.create_key("counter", ["get_info"])
    me = call(stack, "GET", "/me", key).json()
    # No byte quota of its own nor the server's (test_quotas.py shows them when there are).
    quota = me.pop("quota")
    assert (quota["key"], quota["server"]) == (None, None)
    assert me == {
        "name": "counter",
        "permissions": ["get_info"],
        "request_limit": 3,
        "remaining": 3,
        "reset": 0,
        "reset_at": None,
    }
    body = {"url": media_server.url("progressive.mp4")}
    answers = [call(stack, "POST", "/get_info", key, json=body) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Limit"] for a in answers] == ["3"] * 4
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(599 <= int(a.headers["RateLimit-Reset"]) <= 600 for a in answers)
    refused = answers[-1]
    wait = refused.headers["Retry-After"]
    limit = (
        "Rate limit exceeded: 3 task requests per 10 minutes (to raise it, set the key's "
        "request_limit in the Django admin, or give a new key a higher one at /create_key)"
    )
    assert refused.json() == {"error": f"{limit}; try again in {wait} seconds"}
    me = call(stack, "GET", "/me", key).json()
    assert (me["remaining"], me["reset"] in (int(wait) - 1, int(wait))) == (0, True)
    assert me["reset_at"] is not None
    assert key not in str(me)


def test_a_failed_task_says_why_in_words_and_keeps_yt_dlps(stack, media_server):
    key = stack.create_key("unlucky", ["get_video"])
    status = stack.run(key, "/get_video", {"url": media_server.url("missing.mp4")})
    assert status["status"] == "error"
    assert status["error"] == "The URL answered 404 Not Found"
    assert "HTTP Error 404: Not Found" in status["error_detail"]


def test_a_missing_permission_and_broken_json_say_what_to_fix(stack):
    key = stack.create_key("reader", ["get_info"])
    refused = call(stack, "POST", "/get_video", key, json={"url": "http://1.1.1.1/v.mp4"})
    assert refused.status_code == 403
    assert refused.json() == {"error": "Insufficient permissions: needs get_video"}
    broken = call(
        stack, "POST", "/get_info", key, data='{"url":\n "x",,}',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert broken.status_code == 400
    assert broken.json()["error"].endswith("at line 2, column 6")
