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
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
BASELINE_SOURCE = Path(
    os.environ.get("YTDLPHOST_BASELINE_DIR", REPO.parent / "shared" / "baselines" / "yt-dlp-host")
)
BASELINE_VENV = REPO / ".cache" / "baseline-venv"
# Its own requirements name Flask pinned and yt-dlp unpinned; ours pins yt-dlp.
FLASK_REQUIREMENT = "Flask==3.0.3"
STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class OriginalService:
    url: str
    admin_key: str
    directory: Path  # its working copy: jsons/, downloads/
    pid: int


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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = scratch / "yt-dlp-host.log"
    environment = {**os.environ, "FLASK_APP": "src.server:app", "PYTHONUNBUFFERED": "1"}
    # yt-dlp finds ffmpeg and deno on PATH; its own venv's bin first.
    environment["PATH"] = f"{python.parent}:{environment.get('PATH', '')}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python), "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=directory,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(url, process, log_path)
        keys = json.loads((directory / "jsons" / "api_keys.json").read_text())
        yield OriginalService(url, keys["admin"]["key"], directory, process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
