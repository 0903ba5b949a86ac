"""Where the time of one hot GET goes: the request run in this process many times under
pyinstrument (requirements-dev.txt), without a network or a server.

Run from the repository root:

    .venv/bin/python bench/profile_status.py              # GET /status/<id>, the ASGI application
    .venv/bin/python bench/profile_status.py --django     # Django's own handler only
    .venv/bin/python bench/profile_status.py --target files    # GET /files/<id>/info.json
    .venv/bin/python bench/profile_status.py --target tasks    # GET /tasks (a page of 50)
    .venv/bin/python bench/profile_status.py --target tasks-304  # ... with If-None-Match
    .venv/bin/python bench/profile_status.py --target healthz  # GET /healthz?skip=workers

It migrates a fresh DATA_DIR in a temporary directory, creates a key and TASK_COUNT completed
get_info task rows of it (the first with an info.json of INFO_JSON_BYTES on disk), then sends
--requests requests (after a warm-up of 200) and prints the time per request and
pyinstrument's call tree of the whole loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# A page of /tasks (its default limit), and an info.json of a realistic size (the DASH
# test manifest's is a few KB; a real site's tens to hundreds of KB).
TASK_COUNT = 50
INFO_JSON_BYTES = 64 * 1024


def migrated_service(data_dir: str) -> None:
    """Django set up in this process as the web side runs it, on a migrated database in
    `data_dir` (bench/task_list_checks.py uses it too)."""
    os.environ.update(
        DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="ytdlphost.settings",
        YTDLPHOST_ENV_FILE="",
        LOG_LEVEL="WARNING",
    )
    from django.core.management import call_command

    from ytdlphost import asgi  # noqa: F401  (state.prepare() and django.setup())

    call_command("migrate", verbosity=0)


def prepare(data_dir: str):
    """The secret of a key and the id of its newest completed get_info task, whose
    info.json is on disk."""
    migrated_service(data_dir)
    from django.utils import timezone

    from downloads_app import directories
    from downloads_app.models import Task, TaskStatus, TaskType
    from keys_app.models import APIKey

    secret = "profile-secret-0123456789abcdef"
    api_key, _ = APIKey.objects.create_key("profile", ["get_info"], secret=secret)
    for _ in range(TASK_COUNT):
        task = Task.objects.create(
            api_key=api_key,
            task_type=TaskType.GET_INFO,
            url="http://127.0.0.1/manifest.mpd",
            status=TaskStatus.COMPLETED,
            title="Profiled",
            file_name="info.json",
            finished_at=timezone.now(),
        )
    directory = directories.task_dir(task.id)
    directory.mkdir(parents=True)
    padding = "x" * (INFO_JSON_BYTES - 40)
    (directory / "info.json").write_text(f'{{"title": "Profiled", "padding": "{padding}"}}')
    return secret, task.id


def target_request(target: str, secret: str, task_id: str) -> tuple[str, str, dict, int]:
    """(path, query string, headers, expected status) of the profiled request."""
    key = {"x-api-key": secret}
    if target == "status":
        return f"/status/{task_id}", "", key, 200
    if target == "files":
        return f"/files/{task_id}/info.json", "", {}, 200
    if target == "healthz":
        return "/healthz", "skip=workers", {}, 200
    from django.test import Client

    etag = Client(HTTP_X_API_KEY=secret).get("/tasks").headers["ETag"]
    if target == "tasks":
        return "/tasks", "", key, 200
    return "/tasks", "", {**key, "if-none-match": etag}, 304


def django_client_loop(request: tuple, count: int) -> None:
    from django.test import Client

    path, query, headers, expected = request
    client = Client(headers=headers)
    for _ in range(count):
        response = client.get(f"{path}?{query}" if query else path)
        assert response.status_code == expected, response.content


def asgi_loop(request: tuple, count: int) -> None:
    """The ASGI application as uvicorn calls it: one scope, receive and send per request."""
    from tests.support.asgi import http_scope
    from ytdlphost.asgi import application

    path, query, headers, expected = request
    target = f"{path}?{query}" if query else path
    scope = http_scope("GET", target, [("Host", "127.0.0.1"), *headers.items()])

    async def run() -> None:
        for _ in range(count):
            statuses = []

            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message, statuses=statuses):
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await application(dict(scope), receive, send)
            assert statuses == [expected], statuses

    asyncio.run(run())


TARGETS = ("status", "files", "tasks", "tasks-304", "healthz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--target", choices=TARGETS, default="status")
    parser.add_argument("--django", action="store_true", help="Django's test client (WSGI)")
    args = parser.parse_args()
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory(prefix="ytdlphost-profile-") as data_dir:
        secret, task_id = prepare(data_dir)
        request = target_request(args.target, secret, task_id)
        loop = django_client_loop if args.django else asgi_loop
        loop(request, 200)
        started = time.perf_counter()
        loop(request, args.requests)
        unprofiled = (time.perf_counter() - started) / args.requests
        print(f"{args.requests} requests: {unprofiled * 1e6:.0f} µs each (not profiled)")
        profiler = Profiler(interval=0.0002)
        started = time.perf_counter()
        with profiler:
            loop(request, args.requests)
        elapsed = time.perf_counter() - started
        print(f"{args.requests} requests: {elapsed / args.requests * 1e6:.0f} µs each (profiled)")
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
