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
