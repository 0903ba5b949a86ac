"""Listing a playlist of 100 entries is bounded in time and memory (issue 15).

An HTML page of 100 <video> elements, each a distinct URL of the local progressive MP4, is
read the way a playlist task reads it (downloads_app.ytdlp.list_playlist: flat extraction,
no entry resolved), then the same page with 1,000 entries and PLAYLIST_MAX_ITEMS 100 (refused
after listing 101), beside the time of fetching the page alone. Then the listing becomes tasks
(lifecycle.playlist_expand: 100 rows and their rate-limit rows in one transaction) and the
playlist's /status is built, on a throwaway SQLite database. Peak memory is tracemalloc's
peak of Python allocations during each step; the worker's RSS at the end is also given.

    .venv/bin/python bench/playlist.py
"""

import os
import resource
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-playlist-")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from downloads_app import errors, lifecycle, ytdlp  # noqa: E402
from downloads_app.models import Task, TaskStatus, TaskType  # noqa: E402
from downloads_app.schema import TaskStatusOutput  # noqa: E402
from keys_app.models import APIKey  # noqa: E402
from tests.support.media_files import generate_media  # noqa: E402
from tests.support.media_fixtures import MEDIA_CACHE_DIR  # noqa: E402
from tests.support.media_server import MediaServer  # noqa: E402
from tests.support.playlists import write_page  # noqa: E402

RUNS = 5


def measure(step):
    """(median seconds, max peak KiB) of RUNS runs of step()."""
    times, peaks = [], []
    for _ in range(RUNS):
        tracemalloc.start()
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1] / 1024)
        tracemalloc.stop()
    return sorted(times)[len(times) // 2], max(peaks)


def main():
    generate_media(MEDIA_CACHE_DIR)
    call_command("migrate", verbosity=0)
    pages_dir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    with MediaServer(MEDIA_CACHE_DIR) as media, MediaServer(pages_dir) as pages:
        video = media.url("progressive.mp4")
        for count in (100, 1000):
            sources = [f"{video}?entry={n}" for n in range(1, count + 1)]
            write_page(pages_dir, f"list{count}.html", f"{count} clips", sources)
        rows = []

        def fetch():
            urllib.request.urlopen(pages.url("list100.html")).read()

        rows.append(("GET of the 100-entry page alone", *measure(fetch)))
        listing = ytdlp.list_playlist(pages.url("list100.html"), "", 100)
        assert len(listing.entries) == 100
        rows.append(
            (
                "list_playlist, 100 entries",
                *measure(lambda: ytdlp.list_playlist(pages.url("list100.html"), "", 100)),
            )
        )

        def too_large():
            try:
                ytdlp.list_playlist(pages.url("list1000.html"), "", 100)
            except errors.DownloadFailed:
                return
            raise AssertionError("a 1,000-entry playlist was accepted")

        rows.append(("list_playlist, 1,000 entries (refused)", *measure(too_large)))

        api_key, _ = APIKey.objects.create_key("bench", ["get_video"], request_limit=10**6)
        lifecycle.enqueue = lambda task_id: None  # nothing runs: the rows are measured
        entries = [entry._asdict() for entry in listing.entries]

        def expand():
            parent = Task.objects.create(
                api_key=api_key,
                task_type=TaskType.GET_PLAYLIST,
                playlist_type=TaskType.GET_VIDEO,
                url=pages.url("list100.html"),
                status=TaskStatus.PROCESSING,
                attempts=1,
            )
            lifecycle.playlist_expand(parent, listing.title, entries)
            assert parent.children.count() == 100

        rows.append(("playlist_expand: 100 tasks + rate-limit rows", *measure(expand)))
        parent = Task.objects.filter(task_type=TaskType.GET_PLAYLIST).first()

        def status():
            body = TaskStatusOutput(Task.objects.get(pk=parent.pk)).data
            assert len(body["children"]) == 100

        rows.append(("/status body of a 100-entry playlist", *measure(status)))
    print(f"{'step':48} {'median ms':>10} {'peak KiB':>10}")
    for name, seconds, peak in rows:
        print(f"{name:48} {seconds * 1000:10.1f} {peak:10.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS of this process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
