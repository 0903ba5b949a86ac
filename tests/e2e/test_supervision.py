"""Attacks on a worker's time and disk, on the real stack (gunicorn + qcluster): a server
that drips a byte at a time, a format filter that pins the CPU, a live recording that
fills the disk, a worker killed under its ffmpeg. Each task's work runs in a child the
worker supervises (downloads_app/supervisor.py); these tests show that it holds.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.hostile import attack_env, drip
from tests.support.media_server import MediaServer
from tests.support.processes import wait_until
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

PERMISSIONS = ["get_video", "get_live_video", "get_info"]
LIMITS = {
    "MAX_WORKERS": "1",  # one worker: a task that held it would hold the service
    "STALL_TIMEOUT": "8",  # ffmpeg probes a live stream for about 5 s before it writes
    "EXTRACTION_TIMEOUT": "8",  # past the 4 s the CPU-bound test watches its heartbeat
    "STALE_TASK_TIMEOUT": "3",  # a heartbeat every second
    "TASK_TIME_LIMIT": "60",
    "LIVE_MAX_DURATION": "30",
}


@pytest.fixture(scope="module")
def media(media_root):
    """Real media, live stream included, from the address the attack env allows."""
    with MediaServer(media_root, host="127.0.0.2") as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("supervision"), env=attack_env(**LIMITS)) as stack:
        yield stack


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("attacker", PERMISSIONS)


def processes_of(task_id):
    """{pid: command line} of the processes whose command line names the task (ffmpeg
    writes into the task's directory)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if task_id in command:
                    found[int(entry.name)] = command
    return found


def alive(pid):
    """A killed process that nobody reaped yet (a zombie) counts as gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def assert_no_files_left(stack_or_dir, task_id):
    root = getattr(stack_or_dir, "data_dir", None)
    directory = (root / "downloads" if root else stack_or_dir) / task_id
    assert not directory.exists() or not any(directory.rglob("*"))


def test_a_dripping_media_server_fails_as_stalled_and_frees_the_worker(stack, key, hostile, media):
    slow = hostile.route("/drip.mp4", drip(b"\0" * 600, every=1.0))
    task_id = stack.submit(key, "/get_video", {"url": slow})
    status = stack.wait_for(task_id, key, timeout=30)
    assert status["status"] == "error"
    assert "stalled" in status["error"] and "STALL_TIMEOUT" in status["error"]
    assert status["error_code"] == "timeout"
    assert_no_files_left(stack, task_id)
    # The only worker is free again.
    normal = stack.submit(key, "/get_video", {"url": media.url("progressive.mp4")})
    assert stack.wait_for(normal, key, timeout=60)["status"] == "completed"


def test_a_page_that_drips_during_extraction_fails_at_the_extraction_deadline(stack, key, hostile):
    page = hostile.route(
        "/slow-page", drip(b"<html>" + b" " * 600, every=1.0, content_type="text/html")
    )
    task_id = stack.submit(key, "/get_info", {"url": page})
    status = stack.wait_for(task_id, key, timeout=30)
    assert status["status"] == "error"
    assert "extraction deadline" in status["error"] and "EXTRACTION_TIMEOUT" in status["error"]
    assert status["error_code"] == "timeout"


def test_a_cpu_bound_task_keeps_its_heartbeat_and_never_runs_twice(stack, key, media):
    # A catastrophic regex in a format filter, matched against a URL of 40 "a": the match
    # holds the GIL for hours. Created through the service, as the API may refuse `~=`.
    url = media.url("progressive.mp4") + "?" + "a" * 40
    task_id = stack.manage("shell", "-c", (
        "from downloads_app import lifecycle; from downloads_app.models import Task; "
        "from keys_app.models import APIKey; "
        "task = Task.objects.create(api_key=APIKey.objects.get(name='attacker'), "
        f"task_type='get_video', url={url!r}, video_format=\"bestvideo[url~='(a+)+!']\", "
        "audio_format='bestaudio'); lifecycle.enqueue(task.id); print(task.id)"
    )).split()[-1]  # fmt: skip
    wait_until(lambda: stack.task_row(task_id)["status"] == "processing", 30, "never started")
    # Longer than STALE_TASK_TIMEOUT, while the cluster looked for interrupted tasks every
    # 0.5 s: a starved heartbeat would be stale, and the task taken.
    time.sleep(4)
    row = stack.task_row(task_id)
    assert row["status"] == "processing" and row["attempts"] == 1, row["error"]
    status = stack.wait_for(task_id, key, timeout=30)
    assert status["status"] == "error"
    assert "EXTRACTION_TIMEOUT" in status["error"]
    assert stack.task_row(task_id)["attempts"] == 1


def test_a_killed_worker_leaves_no_ffmpeg_recording_beside_its_retry(stack, key, media):
    # 8 s: the first recording is killed a second after its ffmpeg starts, and the retry
    # records the whole duration again.
    task_id = stack.submit(
        key, "/get_live_video", {"url": media.url("live/index.m3u8"), "duration": 8}
    )
    first = wait_until(
        lambda: {p: c for p, c in processes_of(task_id).items() if "ffmpeg" in c}, 30,
        "ffmpeg never started recording",
    )  # fmt: skip
    time.sleep(1)
    worker = int(stack.task_row(task_id)["worker"].rsplit(":", 1)[1])
    os.kill(worker, signal.SIGKILL)
    # Its cluster's recovery sees at once that the worker is gone, and kills its ffmpeg.
    wait_until(lambda: not [pid for pid in first if alive(pid)], 10, "ffmpeg outlived its task")
    status = stack.wait_for(task_id, key, timeout=60)
    assert status["status"] == "completed", status
    assert stack.task_row(task_id)["attempts"] == 2
    assert processes_of(task_id) == {}


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs to download into."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_live_recording_stops_before_the_disk_falls_below_min_free_disk(
    tmp_path, small_disk, media
):
    min_free_disk = 1800 * 1024
    env = attack_env(**LIMITS, DOWNLOAD_DIR=str(small_disk), MIN_FREE_DISK=str(min_free_disk))
    lowest, done = [shutil.disk_usage(small_disk).free], threading.Event()

    def watch_disk():
        while not done.wait(0.02):
            lowest.append(min(lowest[-1], shutil.disk_usage(small_disk).free))

    with LiveStack(tmp_path / "stack", env=env) as stack:
        key = stack.create_key("filler", PERMISSIONS)
        watcher = threading.Thread(target=watch_disk)
        watcher.start()
        try:
            # About 45 kB a second: 20 s would take 900 kB, the disk allows 200 kB.
            live = {"url": media.url("live/index.m3u8"), "duration": 20}
            task_id = stack.submit(key, "/get_live_video", live)
            status = stack.wait_for(task_id, key, timeout=60)
        finally:
            done.set()
            watcher.join()
    assert status["status"] == "error"
    assert "MIN_FREE_DISK" in status["error"]
    # Never below the limit, but for a few blocks of tmpfs's rounding.
    assert lowest[-1] >= min_free_disk - 64 * 1024, lowest[-1]
    assert_no_files_left(small_disk, task_id)
