"""The rules every request meets, fast route or Django view, checked once for the whole
ASGI application (ytdlphost/request_guard.py), driven through ytdlphost.asgi.application
as gunicorn runs it: a Host outside ALLOWED_HOSTS (issue 21) and repeated X-API-Key
headers (issue 20) are refused alike on every route."""

import pytest
from django.conf import settings

from downloads_app.models import Task
from tests.support.asgi import asgi_request
from ytdlphost.asgi import application

# Committed rows: the fast routes and Django read them from the thread pool.
pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC_NAME = "api.example.com"
# What SecurityMiddleware adds to every answer with the project's settings.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
def owner(make_key):
    """A key, and its completed get_info task with its small info.json (which /files
    answers on the fast path)."""
    api_key, secret = make_key("owner")
    task = Task.objects.create(
        api_key=api_key, task_type="get_info", url="http://example.com/v", status="completed",
        file_name="info.json",
    )  # fmt: skip
    (settings.DOWNLOAD_DIR / task.id).mkdir(parents=True)
    (settings.DOWNLOAD_DIR / task.id / "info.json").write_text('{"title": "x"}')
    return secret, task.id


def every_route(task_id: str) -> list[tuple[str, str, bytes]]:
    """(method, target, body): each fast route (ytdlphost/fast_path.py), a long poll, a
    view, and a view of a POST with a body."""
    return [
        ("GET", f"/status/{task_id}", b""),
        ("GET", f"/files/{task_id}/info.json", b""),
        ("GET", "/tasks", b""),
        ("GET", "/healthz?skip=workers", b""),
        ("GET", f"/status/{task_id}?wait=1", b""),
        ("GET", "/me", b""),
        ("POST", "/check_permissions", b'{"permissions": ["get_info"]}'),
    ]


def answers(task_id: str, headers) -> dict[str, tuple[int, dict, bytes]]:
    """Each route's status, headers (but Content-Length, the body's length) and body."""
    found = {}
    for method, target, body in every_route(task_id):
        sent = [*headers, ("Content-Type", "application/json")] if body else headers
        answer = asgi_request(application, method, target, sent, body)
        assert int(answer.headers.pop("content-length", len(answer.body))) == len(answer.body)
        found[f"{method} {target}"] = (answer.status, answer.headers, answer.body)
    return found


def test_a_foreign_host_gets_the_views_answer_on_every_route(client, owner, settings):
    settings.ALLOWED_HOSTS = [PUBLIC_NAME]
    secret, task_id = owner
    view = client.get("/me", HTTP_HOST="evil.example", HTTP_X_API_KEY=secret)  # bare Django
    assert view.status_code == 400
    view_headers = {name.lower(): value for name, value in view.headers.items()}
    refused = (view.status_code, view_headers, view.content)
    found = answers(task_id, [("Host", "evil.example"), ("X-API-Key", secret)])
    assert found == dict.fromkeys(found, refused)


def test_an_allowed_host_reaches_every_route(owner, settings):
    settings.ALLOWED_HOSTS = [PUBLIC_NAME]
    secret, task_id = owner
    found = answers(task_id, [("Host", PUBLIC_NAME), ("X-API-Key", secret)])
    assert {route: status for route, (status, _, _) in found.items()} == dict.fromkeys(found, 200)


def test_a_forwarded_host_counts_only_where_django_reads_it(owner, settings):
    settings.ALLOWED_HOSTS = [PUBLIC_NAME]
    secret, task_id = owner
    behind_proxy = [("Host", "127.0.0.1"), ("X-Forwarded-Host", PUBLIC_NAME), ("X-API-Key", secret)]
    status = f"/status/{task_id}"
    assert asgi_request(application, "GET", status, behind_proxy).status == 400
    settings.USE_X_FORWARDED_HOST = True
    assert asgi_request(application, "GET", status, behind_proxy).status == 200


@pytest.mark.parametrize("second_name", ["X-API-Key", "X_API_KEY", "x_api_key"])
def test_repeated_api_key_headers_are_refused_alike_on_every_route(owner, second_name):
    secret, task_id = owner
    # A wrong key first, the right one last: the fast path took the last, Django joined them.
    found = answers(task_id, [("Host", "localhost"), ("X-API-Key", "wrong"), (second_name, secret)])
    refused = (400, {**SECURITY_HEADERS, "content-type": "application/json"},
               b'{"error": "Send one X-API-Key header"}')  # fmt: skip
    assert found == dict.fromkeys(found, refused)


def test_a_query_string_that_is_not_utf8_passes_the_guard(owner):
    # Servers pass the raw bytes; Django's request class would fail to decode them.
    secret, task_id = owner
    answer = asgi_request(application, "GET", f"/status/{task_id}", [("X-API-Key", secret)],
                          query_string=b"x=\xff")  # fmt: skip
    assert answer.status == 200
