"""Configure once: manage.py (and so run.sh, the web and worker processes) reads .env in
the project directory when it exists; the environment wins over the file."""

import os
import subprocess
import sys

import pytest

from ytdlphost import state

REPO = state.BASE_DIR
PRINT_SETTING = "from django.conf import settings; print(settings.TASK_CLEANUP_TIME)"


@pytest.fixture
def env(tmp_path):
    """manage.py's environment, with .env in tmp_path and no TASK_CLEANUP_TIME."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ytdlphost.settings",
        "DATA_DIR": str(tmp_path / "data"),
        state.ENV_FILE_VARIABLE: str(tmp_path / ".env"),
    }
    environment.pop("TASK_CLEANUP_TIME", None)
    return environment


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_a_setting_in_the_env_file_is_used_by_manage_py(env, tmp_path):
    (tmp_path / ".env").write_text("# a comment\nTASK_CLEANUP_TIME=7\n")
    done = manage(env, "shell", "-v0", "-c", PRINT_SETTING)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7.0"


def test_the_environment_wins_over_the_env_file(env, tmp_path):
    (tmp_path / ".env").write_text("TASK_CLEANUP_TIME=7\n")
    done = manage({**env, "TASK_CLEANUP_TIME": "3"}, "shell", "-v0", "-c", PRINT_SETTING)
    assert done.stdout.strip() == "3.0"


def test_no_env_file_is_fine(env):
    done = manage(env, "shell", "-v0", "-c", PRINT_SETTING)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10.0"


def test_a_bad_value_in_the_env_file_fails_the_check_naming_it(env, tmp_path):
    (tmp_path / ".env").write_text("REQUEST_LIMIT=lots\n")
    done = manage(env, "check")
    assert done.returncode != 0
    assert "REQUEST_LIMIT='lots' is not a valid int" in done.stderr


def test_the_env_file_is_the_one_in_the_project_directory(monkeypatch):
    monkeypatch.delenv(state.ENV_FILE_VARIABLE, raising=False)
    assert state.env_file() == REPO / ".env"


def test_the_example_file_and_the_quick_start_say_how_to_download_from_this_machine():
    # A newcomer's first try is often a file on their own machine, which is refused
    # until ALLOW_PRIVATE_URLS is on: both places they read must say so.
    lines = (REPO / ".env.example").read_text().splitlines()
    setting = lines.index("# ALLOW_PRIVATE_URLS=false")
    assert "restart" in " ".join(lines[setting - 2 : setting])
    quick_start = (REPO / "README.md").read_text().partition("## Quick start")[2]
    quick_start = quick_start.partition("\n## ")[0]
    assert "`ALLOW_PRIVATE_URLS=true` in `.env` and restart" in quick_start
