"""Where the time of one `GET /status/<id>` goes: the request run in this process many
times under pyinstrument (requirements-dev.txt), without a network or a server.

Run from the repository root:

    .venv/bin/python bench/profile_status.py              # the ASGI application gunicorn runs
    .venv/bin/python bench/profile_status.py --django     # Django's own handler only

It migrates a fresh DATA_DIR in a temporary directory, creates a key and a completed
get_info task row of it, then sends --requests requests (after a warm-up of 200) and prints
the time per request and pyinstrument's call tree of the whole loop.
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


def prepare(data_dir: str):
    os.environ.update(
        DATA_DIR=data_dir,
        DJANGO_SETTINGS_MODULE="ytdlphost.settings",
        YTDLPHOST_ENV_FILE="",
        LOG_LEVEL="WARNING",
    )
    from django.core.management import call_command
    from django.utils import timezone

    from ytdlphost import asgi  # noqa: F401  (state.prepare() and django.setup())

    call_command("migrate", verbosity=0)
    from downloads_app.models import Task, TaskStatus, TaskType
    from keys_app.models import APIKey

    secret = "profile-secret-0123456789abcdef"
    api_key, _ = APIKey.objects.create_key("profile", ["get_info"], secret=secret)
    task = Task.objects.create(
        api_key=api_key,
        task_type=TaskType.GET_INFO,
        url="http://127.0.0.1/manifest.mpd",
        status=TaskStatus.COMPLETED,
        file_name="info.json",
        finished_at=timezone.now(),
    )
    return secret, task.id


def django_client_loop(path: str, secret: str, count: int) -> None:
    from django.test import Client

    client = Client(HTTP_X_API_KEY=secret)
    for _ in range(count):
        response = client.get(path)
        assert response.status_code == 200, response.content


def asgi_loop(path: str, secret: str, count: int) -> None:
    """The ASGI application as uvicorn calls it: one scope, receive and send per request."""
    from ytdlphost.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", secret.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 5000),
    }

    async def run() -> None:
        for _ in range(count):
            statuses = []

            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message, statuses=statuses):
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await application(dict(scope), receive, send)
            assert statuses == [200], statuses

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--django", action="store_true", help="Django's test client (WSGI)")
    args = parser.parse_args()
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory(prefix="ytdlphost-profile-") as data_dir:
        secret, task_id = prepare(data_dir)
        path = f"/status/{task_id}"
        loop = django_client_loop if args.django else asgi_loop
        loop(path, secret, 200)
        started = time.perf_counter()
        loop(path, secret, args.requests)
        unprofiled = (time.perf_counter() - started) / args.requests
        print(f"{args.requests} requests: {unprofiled * 1e6:.0f} µs each (not profiled)")
        profiler = Profiler(interval=0.0002)
        started = time.perf_counter()
        with profiler:
            loop(path, secret, args.requests)
        elapsed = time.perf_counter() - started
        print(f"{args.requests} requests: {elapsed / args.requests * 1e6:.0f} µs each (profiled)")
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
