"""The original yt-dlp-host service, started next to ours so that benchmarks compare both
in the same run on the same machine.

    with original_service(tmp_dir) as original:
        requests.get(f"{original.url}/status/x", headers={"X-API-Key": original.admin_key})

Its code lives outside this repository (../shared/baselines/yt-dlp-host, MIT; its README
says how to run it). It is run, never imported or copied: a copy of that folder goes into
a scratch directory, because the service writes its JSON files and downloads beside its
code, and the copy's config.py gets a writable download directory and a request limit no
benchmark reaches. Its Python packages live in a virtualenv of their own, cached in
.cache/baseline-venv, with the same yt-dlp release as ours so that both extract alike.

It runs as its README and Dockerfile say: Flask's development server (threaded), which
keeps keys and tasks in JSON files and whose worker loop polls once a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
BASELINE_SUBDIR = Path("shared") / "baselines" / "yt-dlp-host"


def default_source() -> Path:
    """../shared/baselines/yt-dlp-host beside the checkout, or beside a folder above it: a
    git worktree (../wt/<branch>) sits one level deeper than the main checkout."""
    for folder in REPO.parents:
        if (folder / BASELINE_SUBDIR).is_dir():
            return folder / BASELINE_SUBDIR
    return REPO.parent / BASELINE_SUBDIR


BASELINE_SOURCE = Path(os.environ.get("YTDLPHOST_BASELINE_DIR") or default_source())
BASELINE_VENV = REPO / ".cache" / "baseline-venv"
# Its own requirements name Flask pinned and yt-dlp unpinned; ours pins yt-dlp.
FLASK_REQUIREMENT = "Flask==3.0.3"
STARTUP_TIMEOUT = 60.0


class OriginalService:
    """The original service's process, run from its working copy `directory` (jsons/,
    downloads/) on one port for its whole life; `restart` keeps its files."""

    def __init__(self, python: Path, directory: Path, log_path: Path):
        self.python = python
        self.directory = directory
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = ""
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> None:
        environment = {**os.environ, "FLASK_APP": "src.server:app", "PYTHONUNBUFFERED": "1"}
        # yt-dlp finds ffmpeg and deno on PATH; its own venv's bin first.
        environment["PATH"] = f"{self.python.parent}:{environment.get('PATH', '')}"
        command = [
            str(self.python), "-m", "flask", "run",
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.directory,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(self.url, self.process, self.log_path)
        keys = json.loads((self.directory / "jsons" / "api_keys.json").read_text())
        self.admin_key = keys["admin"]["key"]

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """A new process on the same files and port. Its worker loop is a thread that dies
        for good when its read of tasks.json meets a write of it half done (a
        JSONDecodeError nobody catches): then only a restart runs tasks again."""
        self.stop()
        self.start()


def available() -> bool:
    return (BASELINE_SOURCE / "src" / "server.py").is_file()


def our_ytdlp_requirement() -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.match(r"yt-dlp(\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            return f"yt-dlp=={match.group(2)}"
    raise RuntimeError("requirements.txt pins no yt-dlp release")


def ensure_venv() -> Path:
    """The original service's virtualenv (created once, then reused); its python."""
    python = BASELINE_VENV / "bin" / "python"
    wanted = [FLASK_REQUIREMENT, our_ytdlp_requirement()]
    marker = BASELINE_VENV / "installed.txt"
    if python.exists() and marker.exists() and marker.read_text().split() == wanted:
        return python
    shutil.rmtree(BASELINE_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *wanted],
        check=True,
    )
    marker.write_text("\n".join(wanted))
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure_copy(directory: Path, request_limit: int) -> None:
    """Point the copy's config at its own download folder and lift its request limit
    (60 per 10 minutes would end any benchmark in seconds); start with no tasks and no
    keys, so that it creates its admin key."""
    config = directory / "config.py"
    text = config.read_text()
    text = re.sub(
        r"DOWNLOAD_DIR: Final\[str\] = '[^']*'",
        f"DOWNLOAD_DIR: Final[str] = {str(directory / 'downloads')!r}",
        text,
    )
    text = re.sub(
        r"REQUEST_LIMIT: Final\[int\] = \d+", f"REQUEST_LIMIT: Final[int] = {request_limit}", text
    )
    config.write_text(text)
    (directory / "downloads").mkdir(exist_ok=True)
    jsons = directory / "jsons"
    jsons.mkdir(exist_ok=True)
    (jsons / "tasks.json").write_text("{}")
    (jsons / "api_keys.json").unlink(missing_ok=True)


def wait_until_up(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the original service exited: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            # Any answer means it listens (an unknown task is its 404).
            requests.get(f"{url}/status/probe", timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError(f"the original service did not start in {STARTUP_TIMEOUT:g} s")


@contextlib.contextmanager
def original_service(scratch: Path, request_limit: int = 1_000_000) -> Iterator[OriginalService]:
    """Run the original service from a copy in `scratch` until the block ends."""
    if not available():
        raise RuntimeError(f"the original service's code is not at {BASELINE_SOURCE}")
    python = ensure_venv()
    directory = scratch / "yt-dlp-host"
    shutil.copytree(BASELINE_SOURCE, directory, ignore=shutil.ignore_patterns(".venv"))
    configure_copy(directory, request_limit)
    service = OriginalService(python, directory, scratch / "yt-dlp-host.log")
    try:
        service.start()
        yield service
    finally:
        service.stop()
