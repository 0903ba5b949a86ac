"""One rulebook, two paths (issue 21): a request to a fast route's URL gets the same answer
through the real entry point (ytdlphost.asgi.application: the request guard, the fast
routes and long polls, Django on threads) as from bare Django (a WSGIHandler of its own,
given the environ a WSGI server makes of the same request), status, headers and body byte
for byte, for a matrix of credentials, tasks and request shapes on every fast route.

Nothing is left out of the comparison: neither side adds a Date or Server header (the
HTTP server does, after both). Header names are compared in lower case (HTTP's names are
case-insensitive; the fast path sends them in lower case, Django as it spells them), and
headers as a sorted list, so a repeated header counts as often as it is sent.

Each test also checks which requests the fast routes answered themselves, so the matrix
cannot pass by leaving everything to Django. Repeated X-API-Key headers are not in it:
the guard refuses them before either path (tests/ytdlphost/test_request_guard.py), where
bare Django would read the comma-joined value."""

import dataclasses
import io
import json
import re
import shutil
from collections import namedtuple
from pprint import pformat

import pytest
from a2wsgi.wsgi import build_environ
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from django.utils import timezone

from downloads_app.models import Task, TaskTombstone
from tests.support.asgi import asgi_exchange, http_scope
from ytdlphost import fast_path
from ytdlphost.asgi import application

# Committed rows: the entry point reads them from its thread pool.
pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC_NAME = "api.example.com"
Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def steady_disk(monkeypatch):
    # /healthz shows the free space, which changes between two reads on a shared machine.
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 10**11, 9 * 10**11))


@pytest.fixture(autouse=True)
def named_hosts(settings):
    # The scope's server (what a request without Host is taken for) and the public name.
    settings.ALLOWED_HOSTS = ["127.0.0.1", PUBLIC_NAME]


@pytest.fixture
def fast_answered(monkeypatch) -> list:
    """The registered routes (`status/<segment:task_id>`) that answered a request
    themselves, one entry per answer, in order."""
    answered = []

    def spied(route):
        def answer(request):
            found = route.answer(request)
            if found is not None:
                answered.append(route.route)
            return found

        return dataclasses.replace(route, answer=answer)

    monkeypatch.setattr(fast_path, "_fast_routes", [spied(r) for r in fast_path._fast_routes])
    return answered


@dataclasses.dataclass(frozen=True)
class Sent:
    method: str
    target: str
    headers: tuple = ()
    scheme: str = "http"

    def scope(self) -> dict:
        return http_scope(self.method, self.target, self.headers, scheme=self.scheme)


def normalized(status: int, headers, body: bytes) -> tuple:
    # A value's surrounding whitespace is no part of it (RFC 9110, 5.5): bare Django's
    # WSGI handler sends a Set-Cookie's value after a space, the entry point without.
    names_lowered = sorted(
        (bytes(name).lower(), without_random_token(bytes(value).strip())) for name, value in headers
    )
    # Expires of an answer never to be cached (add_never_cache_headers) is the moment it
    # was made, as a Date would be: its presence is compared, not its second.
    names_lowered = [
        (name, b"<now>" if name == b"expires" else value) for name, value in names_lowered
    ]
    # The framing: the entry point sends every whole body with its length, where bare
    # Django leaves some to the WSGI server (a refused Host's 400). Checked, then left out.
    lengths = [int(value) for name, value in names_lowered if name == b"content-length"]
    assert lengths in ([], [len(body)])
    return status, [header for header in names_lowered if header[0] != b"content-length"], body


def without_random_token(value: bytes) -> bytes:
    """A new CSRF cookie (a malformed one sent) is random on every answer, and expires a
    year from the second it was made: its value and that date are left out (the two
    paths' answers may be made a second apart)."""
    name = settings.CSRF_COOKIE_NAME.encode() + b"="
    if not value.startswith(name):
        return value
    attributes = re.sub(rb"expires=[^;]*", b"expires=<a year from now>", value[value.index(b";") :])
    return name + b"<random>" + attributes


def entry_point_answer(sent: Sent) -> tuple:
    answer = asgi_exchange(application, sent.scope())
    return normalized(answer.status, answer.header_list, answer.body)


def bare_django_answer(sent: Sent) -> tuple:
    # A handler of its own: its middleware read the settings of the test that runs it.
    handler = WSGIHandler()
    started = []

    def start_response(status, headers, exc_info=None):
        started.append((int(status.split()[0]), headers))

    chunks = handler(build_environ(sent.scope(), io.BytesIO()), start_response)
    try:
        body = b"".join(chunks)
    finally:
        chunks.close()
    status, headers = started[0]
    encoded = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return normalized(status, encoded, body)


def compare(requests: dict[str, Sent], fast_answered: list) -> tuple[dict, set]:
    """({label: (entry point's, bare Django's)} of the answers that differ, the labels
    of those the fast routes answered)."""
    differing, fast = {}, set()
    for label, sent in requests.items():
        before = len(fast_answered)
        entry_point = entry_point_answer(sent)
        if len(fast_answered) > before:
            fast.add(label)
        django = bare_django_answer(sent)
        if entry_point != django:
            differing[label] = difference(entry_point, django)
    return differing, fast


def difference(entry_point: tuple, django: tuple) -> dict:
    """What differs between two answers, readably."""
    found = {}
    if entry_point[0] != django[0]:
        found["status"] = (entry_point[0], django[0])
    only_entry_point = [h for h in entry_point[1] if h not in django[1]]
    only_django = [h for h in django[1] if h not in entry_point[1]]
    if only_entry_point or only_django:
        found["headers"] = (only_entry_point, only_django)
    if entry_point[2] != django[2]:
        found["body"] = (entry_point[2][:80], django[2][:80])
    return found


ACCEPTS = {
    "any": "*/*",
    "json": "application/json",
    "json by range": "application/*",
    "browser": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "html only": "text/html",
    "json indented": "application/json; indent=4",
    "json refused": "application/json;q=0",
}


def variants(target: str, key: tuple, **others: tuple) -> dict[str, Sent]:
    """The matrix's request shapes of `target`, each with `key` (its credential headers)
    unless it names others (`others`: label -> credential headers)."""
    path, _, query = target.partition("?")
    joined = f"{target}&x=1" if query else f"{target}?x=1"
    found = {
        "plain": Sent("GET", target, key),
        "HEAD": Sent("HEAD", target, key),
        "a query string": Sent("GET", joined, key),
        "a format DRF lacks": Sent("GET", joined.replace("x=1", "format=xml"), key),
        "the format json": Sent("GET", joined.replace("x=1", "format=json"), key),
        "a Range": Sent("GET", target, (*key, ("Range", "bytes=0-3"))),
        "a foreign Host": Sent("GET", target, (*key, ("Host", "evil.example"))),
        "the public Host": Sent("GET", target, (*key, ("Host", PUBLIC_NAME))),
        "two Accept headers": Sent(
            "GET", target, (*key, ("Accept", "text/html"), ("Accept", "application/json"))
        ),
        "https": Sent("GET", target, key, scheme="https"),
        **{
            f"Accept {name}": Sent("GET", target, (*key, ("Accept", value)))
            for name, value in ACCEPTS.items()
        },
        **{label: Sent("GET", target, headers) for label, headers in others.items()},
    }
    return {f"{target} {label}": sent for label, sent in found.items()}


@pytest.fixture
def keys(make_key) -> dict[str, tuple]:
    """Credential headers: the owner's key, a key holding get_keys, a stranger's, a key
    deleted since, a wrong one, an empty one, none."""
    secrets = {
        name: make_key(name, permissions)[1]
        for name, permissions in (
            ("owner", ["get_info", "get_audio"]),
            ("overseer", ["get_keys"]),
            ("stranger", ["get_info"]),
            ("gone", ["get_info"]),
        )
    }
    from keys_app.models import APIKey

    APIKey.objects.get(name="gone").delete()
    found = {name: (("X-API-Key", secret),) for name, secret in secrets.items()}
    wrong = {"wrong": (("X-API-Key", "not-a-key"),), "empty": (("X-API-Key", ""),)}
    return {**found, **wrong, "none": ()}


def completed_info_task(key_name: str, **fields) -> Task:
    """A completed get_info task of the key with its info.json on disk (a small file)."""
    from keys_app.models import APIKey

    task = Task.objects.create(
        api_key=APIKey.objects.get(name=key_name), task_type="get_info",
        url="http://example.com/v", status="completed", file_name="info.json",
        title="Ünïcode title", started_at=timezone.now(), finished_at=timezone.now(), **fields,
    )  # fmt: skip
    (settings.DOWNLOAD_DIR / task.id).mkdir(parents=True)
    document = {"title": "Ünïcode title", "duration": 3}
    (settings.DOWNLOAD_DIR / task.id / "info.json").write_text(json.dumps(document))
    return task


@pytest.fixture
def tasks(keys) -> dict[str, str]:
    """Task ids: the owner's, the stranger's (another), the owner's expired one, one never
    made."""
    own = completed_info_task("owner")
    another = completed_info_task("stranger")
    expired = TaskTombstone.objects.create(
        id="expired-task-of-owner", api_key_id=own.api_key_id, expired_at=timezone.now()
    )
    return {"own": own.id, "another": another.id, "expired": expired.id, "unknown": "nope"}


def credential_variants(keys) -> dict[str, tuple]:
    return {f"{name} key": headers for name, headers in keys.items() if name != "owner"}


def test_status_answers_alike_on_both_paths(keys, tasks, fast_answered):
    requests = {}
    for task_id in tasks.values():
        requests |= variants(f"/status/{task_id}", keys["owner"], **credential_variants(keys))
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    own = f"/status/{tasks['own']}"
    assert fast == {
        f"{own} {label}"
        for label in ("plain", "a query string", "a Range", "the public Host", "https",
                      "two Accept headers", "Accept any", "Accept json", "Accept json by range",
                      "Accept browser", "Accept json refused", "the format json", "overseer key")
    } | {f"/status/{tasks['another']} {name} key" for name in ("overseer", "stranger")}  # fmt: skip


def test_a_failed_tasks_status_and_list_answer_alike_on_both_paths(keys, fast_answered):
    from keys_app.models import APIKey

    failed = Task.objects.create(
        api_key=APIKey.objects.get(name="owner"), task_type="get_video",
        url="http://example.com/v", status="error", error="The URL answered 429 Too Many Requests",
        error_detail="HTTP Error 429", error_code="rate_limited", retry_after=120,
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    requests = {
        label: Sent("GET", target, keys["owner"])
        for label, target in (("status", f"/status/{failed.id}"), ("list", "/tasks"))
    }
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    assert fast == {"status", "list"}
    body = json.loads(entry_point_answer(requests["status"])[2])
    assert (body["error_code"], body["retry_after"]) == ("rate_limited", 120)


def test_a_named_file_in_the_library_answers_alike_on_both_paths(keys, fast_answered):
    """A file named by a `filename` template (a space, `#`, `%` in it: its URL is
    percent-encoded) and placed in the library: its status, its row and its file."""
    from keys_app.models import APIKey

    name = "100% #1 [abc].m4a"
    named = Task.objects.create(
        api_key=APIKey.objects.get(name="owner"), task_type="get_audio",
        url="http://example.com/v", status="completed", file_name=name, title="Title",
        filename_template="%(title)s", library=True, library_path="u/100% #1 [abc].m4a",
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    (settings.DOWNLOAD_DIR / named.id).mkdir(parents=True)
    (settings.DOWNLOAD_DIR / named.id / name).write_bytes(b"media")
    status_target = f"/status/{named.id}"
    status = json.loads(entry_point_answer(Sent("GET", status_target, keys["owner"]))[2])
    assert status["file"] == f"/files/{named.id}/100%25%20%231%20%5Babc%5D.m4a"
    assert status["library_path"] == "u/100% #1 [abc].m4a"
    requests = {
        label: Sent("GET", target, keys["owner"])
        for label, target in (("status", status_target), ("list", "/tasks"),
                              ("file", status["file"]))
    }  # fmt: skip
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    assert fast == {"status", "list", "file"}


# The request shapes a fast route answers itself, given a key that may see the task:
# a plain GET in JSON, whatever the Host's spelling, the scheme or a q-value.
PLAIN = (
    "plain", "the public Host", "https", "two Accept headers", "Accept any", "Accept json",
    "Accept json by range", "Accept browser", "Accept json refused",
)  # fmt: skip


@pytest.mark.parametrize("files_require_key", [False, True])
def test_small_files_answer_alike_on_both_paths(
    settings, keys, tasks, fast_answered, files_require_key
):
    settings.FILES_REQUIRE_KEY = files_require_key
    targets = [f"/files/{task_id}/info.json" for task_id in tasks.values()]
    targets.append(f"/files/{tasks['own']}/other.json")
    requests = {}
    for target in targets:
        requests |= variants(target, keys["owner"], **credential_variants(keys))
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    seeing = {"own": ("owner", "overseer"), "another": ("stranger", "overseer")}
    expected = set()
    for task, names in seeing.items():
        target = f"/files/{tasks[task]}/info.json"
        if files_require_key:
            expected |= {f"{target} {label}" for label in PLAIN if task == "own"}
            expected |= {f"{target} {name} key" for name in names if name != "owner"}
        else:  # the id is the secret: any credential, or none, is the same request
            expected |= {f"{target} {label}" for label in PLAIN}
            expected |= {f"{target} {label}" for label in credential_variants(keys)}
    assert fast == expected


def test_extra_files_status_and_lists_answer_alike_on_both_paths(keys, fast_answered):
    """A task's subtitles and thumbnail beside its file (Task.published_names): served
    alike, a file on disk that the task does not list is not, and /status and /tasks
    name them alike."""
    from keys_app.models import APIKey

    extra_files = [
        {"name": "audio.en.vtt", "size": 10, "kind": "subtitles"},
        {"name": "audio.jpg", "size": 4, "kind": "thumbnail"},
    ]
    task = Task.objects.create(
        api_key=APIKey.objects.get(name="owner"), task_type="get_audio",
        url="http://example.com/v", status="completed", file_name="audio.mp3",
        title="Ünïcode title", extra_files=extra_files, started_at=timezone.now(),
        finished_at=timezone.now(),
    )  # fmt: skip
    directory = settings.DOWNLOAD_DIR / task.id
    directory.mkdir(parents=True)
    contents = {
        "audio.mp3": b"ID3-audio",
        "audio.en.vtt": b"WEBVTT\n\nx\n",
        "audio.jpg": b"\xff\xd8",
    }
    for name, content in {**contents, "audio.fr.vtt": b"WEBVTT\n"}.items():
        (directory / name).write_bytes(content)
    owner = keys["owner"]
    requests = {
        **{name: Sent("GET", f"/files/{task.id}/{name}", owner) for name in contents},
        "unlisted": Sent("GET", f"/files/{task.id}/audio.fr.vtt", owner),
        "status": Sent("GET", f"/status/{task.id}", owner),
        "list": Sent("GET", "/tasks", owner),
    }
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    assert fast == {*contents, "status", "list"}
    status, headers, body = entry_point_answer(requests["audio.en.vtt"])
    assert (status, body) == (200, contents["audio.en.vtt"])
    assert (
        b"filename*=UTF-8''%C3%9Cn%C3%AFcode%20title.en.vtt"
        in dict(headers)[b"content-disposition"]
    )
    assert entry_point_answer(requests["unlisted"])[0] == 404
    shown = json.loads(entry_point_answer(requests["status"])[2])
    listed = json.loads(entry_point_answer(requests["list"])[2])["tasks"][0]
    for body in (shown, listed):
        assert body["thumbnail"] == f"/files/{task.id}/audio.jpg"
        assert body["extra_files"] == [
            {**extra, "file": f"/files/{task.id}/{extra['name']}"} for extra in extra_files
        ]


def signed_in_cookie(secret: str) -> str:
    """The Cookie header of the web page signed in with `secret`."""
    browser = Client(enforce_csrf_checks=True, SERVER_NAME="127.0.0.1")  # an allowed Host
    browser.get("/")
    token = browser.cookies["csrftoken"].value
    signing_in = browser.post("/sign_in", {"key": secret, "csrfmiddlewaretoken": token})
    assert signing_in.status_code == 302
    return "; ".join(f"{name}={morsel.value}" for name, morsel in browser.cookies.items())


def test_task_lists_answer_alike_on_both_paths(keys, tasks, fast_answered):
    secret = keys["owner"][0][1]
    cookie = signed_in_cookie(secret)
    etag = bare_django_answer(Sent("GET", "/tasks", keys["owner"]))[1]
    etag = dict(etag)[b"etag"].decode()
    owner = keys["owner"]
    unchanged = {
        "its ETag": (*owner, ("If-None-Match", etag)),
        "its ETag, weak": (*owner, ("If-None-Match", f"W/{etag}")),
        "its ETag among others": (*owner, ("If-None-Match", f'"other", {etag}')),
        "its ETag in a second If-None-Match": (
            *owner, ("If-None-Match", '"other"'), ("If-None-Match", etag),
        ),
        "its ETag in a first If-None-Match": (
            *owner, ("If-None-Match", etag), ("If-None-Match", '"other"'),
        ),
        "a stale ETag": (*owner, ("If-None-Match", '"stale"')),
        "the session": (("Cookie", cookie),),
        "the session and its ETag": (("Cookie", cookie), ("If-None-Match", etag)),
        "the session in two Cookie headers": tuple(
            ("Cookie", part) for part in cookie.split("; ")
        ),
        "a session and a key": (("Cookie", cookie), *keys["stranger"]),
    }  # fmt: skip
    requests = {}
    for target in ("/tasks", "/tasks?limit=1", "/tasks?all=true", "/tasks?status=bogus"):
        requests |= variants(target, owner, **credential_variants(keys), **unchanged)
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    own_list = (
        *PLAIN, "a Range", "stranger key", "overseer key", "its ETag", "its ETag, weak",
        "its ETag among others", "its ETag in a second If-None-Match",
        "its ETag in a first If-None-Match", "a stale ETag", "the session",
        "the session and its ETag", "a session and a key",
    )  # fmt: skip
    expected = {
        f"{target} {label}" for target in ("/tasks", "/tasks?limit=1") for label in own_list
    }
    expected |= {"/tasks?all=true overseer key"}
    assert fast == expected


def test_healthz_answers_alike_on_both_paths(keys, fast_answered):
    requests = {}
    for target in ("/healthz", "/healthz?skip=workers", "/healthz?skip=workers&skip=disk",
                   "/healthz?skip=nothing&other=1"):  # fmt: skip
        requests |= variants(target, (), **credential_variants(keys))
    differing, fast = compare(requests, fast_answered)
    assert not differing, pformat(differing)
    left_to_django = ("HEAD", "a foreign Host")
    assert fast == {label for label in requests if not label.endswith(left_to_django)}


WITHOUT_X_FRAME_OPTIONS = [
    path for path in settings.MIDDLEWARE if not path.endswith("XFrameOptionsMiddleware")
]


@pytest.mark.parametrize(
    ("changed", "scheme", "expected"),
    [
        ({"SECURE_REFERRER_POLICY": "no-referrer"}, "http", (b"referrer-policy", b"no-referrer")),
        ({"X_FRAME_OPTIONS": "SAMEORIGIN"}, "http", (b"x-frame-options", b"SAMEORIGIN")),
        (
            {"SECURE_CROSS_ORIGIN_OPENER_POLICY": None}, "http",
            (b"cross-origin-opener-policy", None),
        ),
        ({"SECURE_CONTENT_TYPE_NOSNIFF": False}, "http", (b"x-content-type-options", None)),
        ({"MIDDLEWARE": WITHOUT_X_FRAME_OPTIONS}, "http", (b"x-frame-options", None)),
        (
            {"SECURE_HSTS_SECONDS": 3600}, "https",
            (b"strict-transport-security", b"max-age=3600"),
        ),
    ],
)  # fmt: skip
def test_a_changed_setting_changes_fast_answers_as_it_changes_the_views(
    settings, keys, tasks, fast_answered, changed, scheme, expected
):
    for name, value in changed.items():
        setattr(settings, name, value)
    owner = keys["owner"]
    etag = dict(bare_django_answer(Sent("GET", "/tasks", owner))[1])[b"etag"].decode()
    requests = {
        "status": Sent("GET", f"/status/{tasks['own']}", owner, scheme),
        "file": Sent("GET", f"/files/{tasks['own']}/info.json", owner, scheme),
        "task list": Sent("GET", "/tasks", owner, scheme),
        "unchanged task list": Sent("GET", "/tasks", (*owner, ("If-None-Match", etag)), scheme),
        "healthz": Sent("GET", "/healthz?skip=workers", (), scheme),
    }
    for label, sent in requests.items():
        before = len(fast_answered)
        status, headers, body = entry_point_answer(sent)
        assert len(fast_answered) == before + 1, f"{label}: not answered by its fast route"
        assert (status, headers, body) == bare_django_answer(sent), label
        name, value = expected
        assert dict(headers).get(name) == value, label


def test_a_disabled_fast_route_leaves_its_requests_to_the_view(settings, monkeypatch):
    # FAST_ROUTES_DISABLED, read as the app registers its routes: the bench measures views.
    settings.FAST_ROUTES_DISABLED = ["status"]
    monkeypatch.setattr(fast_path, "_fast_routes", [])
    fast_path.register_fast_get("status/<segment:task_id>", lambda request: None)
    fast_path.register_fast_get("tasks", lambda request: None)
    assert [route.route for route in fast_path._fast_routes] == ["tasks"]
