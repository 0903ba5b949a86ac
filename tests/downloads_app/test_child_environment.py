"""What a task's programs find in their environment, on the real stack: ffmpeg and ffprobe
(and deno, started the same way) get a short allow-list from the task's child process,
never the service's secrets. A spy earlier on PATH records the environment of every
ffmpeg and ffprobe it is asked to run, then runs the real one."""

import os
import shutil
import stat
from pathlib import Path

import pytest

from downloads_app.processes import TASK_MARKER, child_environment
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e

SECRETS = {
    "SECRET_KEY": "child-env-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ADMIN_PASSWORD": "child-env-admin-password",
    "KEY_ENCRYPTION_KEYS": "",  # named, so that the test sees it is not passed on
}


def spy(directory: Path, program: str, records: Path) -> None:
    real = shutil.which(program)
    script = directory / program
    script.write_text(f'#!/bin/sh\nenv -0 > "{records}/{program}.$$"\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return tmp_path_factory.mktemp("environments")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, records):
    data_dir = tmp_path_factory.mktemp("child-env")
    spies = tmp_path_factory.mktemp("spies")
    for program in ("ffmpeg", "ffprobe"):
        spy(spies, program, records)
    env = {
        **SECRETS,
        "PATH": f"{spies}:{os.environ['PATH']}",
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "LANG": "C.UTF-8",
    }
    with LiveStack(data_dir, env=env) as running:
        yield running


def task_environments(records: Path, task_id: str, program: str) -> list[dict[str, str]]:
    """The environments the spy recorded for `program` run by the task's work."""
    found = []
    for path in records.glob(f"{program}.*"):
        entries = (entry.partition("=") for entry in path.read_text().split("\0") if entry)
        environment = {name: value for name, _, value in entries}
        if environment.get(TASK_MARKER) == task_id:
            found.append(environment)
    return found


def assert_minimal(environment: dict[str, str]) -> None:
    names = set(environment)
    assert not names & {*SECRETS, "DATABASE_URL", "ADMIN_API_KEY", "DATA_DIR"}, names
    # The allow-list of downloads_app/processes.py, the task's marker, and PWD, which the
    # spy's own shell sets.
    assert names - set(child_environment(environment)) <= {TASK_MARKER, "PWD"}
    assert environment["LANG"] == "C.UTF-8"


def test_the_ffmpeg_of_a_clip_gets_only_the_allow_list(stack, records, hls_vod_url):
    key = stack.create_key("clip-env", ["get_video"])
    task_id = stack.submit(key, "/get_video", {"url": hls_vod_url, "start_time": 1, "end_time": 3})
    status = stack.wait_for(task_id, key)
    assert status["status"] == "completed", status.get("error")
    environments = task_environments(records, task_id, "ffmpeg")
    assert environments, "the spy never ran ffmpeg for the task"
    for environment in environments:
        assert_minimal(environment)
        # The download's ffmpeg reads through the relay; the post-processing of the
        # finished file (tags, cover: local files) has no proxy at all, never another one.
        assert environment.get("http_proxy", "http://ffmpeg:").startswith("http://ffmpeg:")
    assert any("http_proxy" in environment for environment in environments)


def test_the_ffprobe_of_a_direct_file_gets_only_the_allow_list(stack, records, progressive_url):
    key = stack.create_key("info-env", ["get_info"])
    task_id = stack.submit(key, "/get_info", {"url": progressive_url})
    status = stack.wait_for(task_id, key)
    assert status["status"] == "completed", status.get("error")
    environments = task_environments(records, task_id, "ffprobe")
    assert environments, "the spy never ran ffprobe for the task"
    for environment in environments:
        assert_minimal(environment)
