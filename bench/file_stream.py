"""What sending a large file costs the web process: a file of --megabytes through the ASGI
application gunicorn runs (FileView, Django's FileResponse read on the thread pool and
sent by the event loop: ytdlphost/slow_clients.py), beside the
same file read on the fast path's thread pool in files.CHUNK_SIZE pieces (what a
streaming fast route would do). In this process, without a network or a server.

Run from the repository root:

    .venv/bin/python bench/file_stream.py              # 64 MB, 3 sends each
    .venv/bin/python bench/file_stream.py --block-size 4096   # Django's default block

Prints MB/s (wall) and CPU ms per MB of each, and how many body messages a send took.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.profile_status import prepare  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument("--sends", type=int, default=3)
    parser.add_argument("--block-size", type=int, help="FileResponse's block size instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ytdlphost-file-stream-") as data_dir:
        _, task_id = prepare(data_dir)
        from django.http import FileResponse

        from downloads_app import directories, files
        from downloads_app.models import Task
        from ytdlphost import fast_path
        from ytdlphost.asgi import application

        if args.block_size:
            FileResponse.block_size = args.block_size
            files.CHUNK_SIZE = args.block_size
        Task.objects.filter(pk=task_id).update(file_name="video.mp4", task_type="get_video")
        path = directories.task_dir(task_id) / "video.mp4"
        path.write_bytes(os.urandom(args.megabytes * 1024 * 1024))
        path_text = f"/files/{task_id}/video.mp4"
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path_text,
            "raw_path": path_text.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 5000),
        }  # fmt: skip

        async def through_file_view() -> int:
            messages = 0
            requests = [{"type": "http.request", "body": b"", "more_body": False}]

            async def receive():
                if requests:  # a GET's empty body, as a server delivers it first
                    return requests.pop()
                await asyncio.Event().wait()  # then the client stays connected

            async def send(message):
                nonlocal messages
                messages += message["type"] == "http.response.body"

            await application(dict(scope), receive, send)
            return messages

        async def in_pool_chunks() -> int:
            messages = 0
            with open(path, "rb") as handle:
                while await fast_path.run_in_pool(handle.read, files.CHUNK_SIZE):
                    messages += 1
            return messages

        async def measure() -> None:
            megabytes = args.sends * path.stat().st_size / 1e6
            for label, send_once in (
                ("FileView (Django)", through_file_view),
                ("thread-pool chunks", in_pool_chunks),
            ):
                await send_once()  # warm-up
                wall, cpu = time.perf_counter(), cpu_seconds()
                for _ in range(args.sends):
                    messages = await send_once()
                wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
                print(
                    f"{label:28} {megabytes / wall:7.0f} MB/s  "
                    f"{cpu / megabytes * 1000:6.2f} ms CPU per MB  {messages} body messages"
                )

        asyncio.run(measure())


if __name__ == "__main__":
    main()
