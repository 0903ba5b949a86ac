"""The canary of a yt-dlp version, run in a process of its own before the version may
become current (ytdlp_updates.py starts it with the interpreter of the version's folder,
which has that version first on its path):

    python -m downloads_app.ytdlp_canary

1. The connection guard installs: the system check that names the yt-dlp internals the
   guard relies on passes with this version (checks.connection_guard_is_installed). A
   version that would run unguarded is refused before it downloads anything.
2. Each of YTDLP_CANARY_URLS (the operator's list) is extracted and downloaded for real,
   through the service's own download path (ytdlp.download), as a get_video task of the
   smallest formats would be.
3. Without YTDLP_CANARY_URLS, a self-test: ffmpeg makes a second of media, served on
   127.0.0.1 by this process; the guard must refuse it while loopback is not allowed,
   then, with 127.0.0.1 allowed in this process only, it is extracted and downloaded.

It prints one JSON line, {"version": the yt-dlp it imported, "problems": [...]}, and exits
1 when there are problems. It never opens the database, and once Django has read its
settings it keeps only what a task's child process keeps of the environment.
"""

import contextlib
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# How long the self-test's ffmpeg may take (seconds).
MEDIA_TIMEOUT = 60
SELF_TEST_FILE = "canary.mp4"


def _make_media(path: Path) -> None:
    """One second of video and sound, as small as ffmpeg makes it."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=size=64x36:rate=5:duration=1",
            "-f", "lavfi", "-i", "sine=duration=1",
            "-c:v", "mpeg4", "-c:a", "aac", "-movflags", "+faststart", str(path),
        ],
        check=True, capture_output=True, timeout=MEDIA_TIMEOUT,
    )  # fmt: skip


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@contextlib.contextmanager
def _serving(folder: Path):
    """`folder` served on 127.0.0.1; yields the port."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


def _download(url: str, work_dir: Path) -> str | None:
    """A problem with extracting and downloading `url`, or None."""
    from downloads_app import ytdlp
    from downloads_app.errors import DownloadFailed
    from downloads_app.limits import Limits
    from downloads_app.models import Task, TaskType

    task = Task(
        url=url, task_type=TaskType.GET_VIDEO,
        video_format="worstvideo", audio_format="worstaudio",
    )  # fmt: skip
    work_dir.mkdir()
    try:
        downloaded = ytdlp.download(task, work_dir, lambda status: None, Limits.from_settings())
    except DownloadFailed as exc:
        return f"{url}: {exc}" + (f" (yt-dlp: {exc.detail})" if exc.detail else "")
    except Exception as exc:  # a broken version fails in any way
        return f"{url}: {type(exc).__name__}: {exc}"
    if downloaded.path.stat().st_size == 0:
        return f"{url}: the download is empty"
    return None


def guard_problems() -> list[str]:
    from downloads_app import checks

    return [problem.msg for problem in checks.connection_guard_is_installed(None)]


def self_test(folder: Path) -> list[str]:
    """The built-in canary (module docstring, 3)."""
    from django.conf import settings

    from downloads_app import ytdlp
    from downloads_app.errors import DownloadFailed

    served = folder / "served"
    served.mkdir()
    _make_media(served / SELF_TEST_FILE)
    with _serving(served) as port:
        url = f"http://127.0.0.1:{port}/{SELF_TEST_FILE}"
        settings.ALLOW_PRIVATE_URLS, settings.ALLOWED_PRIVATE_NETWORKS = False, []
        try:
            ytdlp.extract_metadata(url)
        except DownloadFailed as exc:
            if "ALLOWED_PRIVATE_NETWORKS" not in f"{exc} {exc.detail}":
                return [f"the connection guard's refusal of 127.0.0.1 did not show: {exc}"]
        except Exception as exc:
            return [f"{url}: {type(exc).__name__}: {exc}"]
        else:
            return ["the connection guard let yt-dlp reach 127.0.0.1, which is not allowed"]
        settings.ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1/32"]
        problem = _download(url, folder / "download")
    return [problem] if problem else []


def run() -> dict:
    from django.conf import settings

    from downloads_app import ytdlp_versions

    problems = guard_problems()
    if not problems:
        with tempfile.TemporaryDirectory(prefix="ytdlphost-canary-") as temporary:
            folder = Path(temporary)
            if settings.YTDLP_CANARY_URLS:
                problems = [
                    problem
                    for index, url in enumerate(settings.YTDLP_CANARY_URLS)
                    if (problem := _download(url, folder / str(index)))
                ]
            else:
                problems = self_test(folder)
    return {"version": ytdlp_versions.loaded_version(), "problems": problems}


def main() -> None:
    import django

    from downloads_app import processes, ytdlp_versions

    ytdlp_versions.activation_enabled = False  # this interpreter's yt-dlp, not the host's
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ytdlphost.settings")
    django.setup()
    # Settings read: from here on, as in a task's child process, no secret of the service
    # for yt-dlp or the programs it starts (processes.py).
    processes.keep_child_environment()
    result = run()
    print(json.dumps(result), flush=True)
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
