"""yt-dlp updated at runtime (downloads_app/ytdlp_updates.py), offline: pip installs from a
folder of wheels made from the installed yt-dlp (the `ytdlp_wheels` fixture), and each new
version runs the real canary (the loopback self-test) in a process of its own."""

import ast
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as settings_module
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from downloads_app import schedules, ytdlp_updates, ytdlp_versions
from downloads_app.errors import ErrorCode
from downloads_app.models import Task, TaskStatus, TaskType, YtdlpEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def updates(settings, tmp_path, monkeypatch, ytdlp_wheels):
    """Updates on a DATA_DIR of the test's own, with pip pointed at the test wheels."""
    settings.DATA_DIR = tmp_path
    for name, value in ytdlp_wheels.pip_environment.items():
        monkeypatch.setenv(name, value)
    return ytdlp_wheels


def _version_a_new_process_runs(data_dir: Path) -> str:
    """The yt-dlp that manage.py, started now on `data_dir`, has imported once Django is set up."""
    environment = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "ytdlphost.settings", "DATA_DIR": str(data_dir),
        "YTDLPHOST_ENV_FILE": "",
    }  # fmt: skip
    code = "from downloads_app import ytdlp_versions; print(ytdlp_versions.loaded_version())"
    finished = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings_module.BASE_DIR, env=environment, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return finished.stdout.strip().splitlines()[-1]  # after the shell's own lines


def test_the_schedule_installs_the_newest_stable_version_and_the_command_rolls_it_back(
    updates, settings, client, tmp_path
):
    settings.YTDLP_UPDATE = "stable"
    bundled = ytdlp_versions.bundled_version()

    assert ytdlp_updates.scheduled_update()["yt_dlp"] == "updated"

    active = ytdlp_versions.current()
    assert (active.version, active.source) == (updates.good, "updated")
    assert (active.path / "yt_dlp" / "__init__.py").is_file()
    assert json.loads(ytdlp_versions.pointer_path().read_text())["history"] == [bundled]
    health = client.get("/healthz?skip=workers").json()["checks"]["yt_dlp"]
    assert health["version"] == updates.good and health["source"] == "updated"
    assert health["last_check"]["outcome"] == "updated"
    assert health["last_refused"] is None
    # The image's own site-packages is untouched.
    assert ytdlp_versions.bundled_version() == bundled

    assert ytdlp_updates.scheduled_update()["yt_dlp"] == "up_to_date"
    # A process that starts now (a restart) runs it from the start.
    assert _version_a_new_process_runs(tmp_path) == updates.good

    call_command("update_ytdlp", "--rollback")
    assert ytdlp_versions.current().version == bundled
    rolled_back = ytdlp_updates.refusal_of(updates.good)
    assert rolled_back.kind == YtdlpEvent.Kind.ROLLED_BACK
    # Rolled back by hand: the schedule does not bring it back.
    assert "not tried again" in ytdlp_updates.scheduled_update()["reason"]
    assert ytdlp_versions.current().version == bundled


def test_a_version_that_fails_the_canary_is_refused_and_not_tried_again(updates, settings):
    settings.YTDLP_UPDATE = "nightly"  # the broken wheel is the newest pre-release

    with pytest.raises(CommandError, match="generic extractor is broken"):
        call_command("update_ytdlp", "--version", updates.broken)

    assert ytdlp_versions.current().source == "bundled"
    assert not ytdlp_versions.pointer_path().exists()
    refused = ytdlp_updates.refusal_of(updates.broken)
    assert refused.kind == YtdlpEvent.Kind.REFUSED
    assert "the canary failed" in refused.reason
    assert not ytdlp_versions.version_dir(updates.broken).exists()  # nothing left installed

    result = ytdlp_updates.scheduled_update()
    assert result["yt_dlp"] == "up_to_date" and "not tried again" in result["reason"]
    assert not ytdlp_versions.version_dir(updates.broken).exists()


def test_a_failed_check_is_logged_once_and_changes_nothing(
    updates, settings, tmp_path, monkeypatch, caplog
):
    settings.YTDLP_UPDATE = "stable"
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "an-empty-index"))
    (tmp_path / "an-empty-index").mkdir()

    with caplog.at_level(logging.WARNING, logger="ytdlphost.ytdlp"):
        result = ytdlp_updates.scheduled_update()

    assert result["yt_dlp"] == "failed" and "No matching distribution" in result["reason"]
    assert [record.message for record in caplog.records] == [
        f"yt-dlp update check failed: {result['reason']}"
    ]
    assert not ytdlp_versions.pointer_path().exists()
    with pytest.raises(CommandError, match="failed"):
        call_command("update_ytdlp")


def test_off_removes_the_schedule_and_leaves_the_command_working(settings):
    settings.YTDLP_UPDATE = "stable"
    settings.YTDLP_UPDATE_INTERVAL = 6
    schedules.ensure_ytdlp_update_schedule()
    schedule = Schedule.objects.get(name=schedules.YTDLP_UPDATE_SCHEDULE_NAME)
    assert (schedule.func, schedule.minutes) == ("downloads_app.tasks.update_ytdlp", 360)

    settings.YTDLP_UPDATE = "off"
    schedules.ensure_ytdlp_update_schedule()
    assert not Schedule.objects.filter(name=schedules.YTDLP_UPDATE_SCHEDULE_NAME).exists()
    assert ytdlp_updates.scheduled_update() == {"yt_dlp": "off"}


@pytest.mark.parametrize("value", ["stable", "nightly", "off", "2026.11.01"])
def test_ytdlp_update_accepts_channels_versions_and_off(value):
    assert ytdlp_updates.parse_setting(value)


def test_ytdlp_update_refuses_anything_else():
    with pytest.raises(ValueError, match="not stable, nightly, off or a version"):
        ytdlp_updates.parse_setting("latest")


# --- Rolling back on its own -------------------------------------------------------------


@pytest.fixture
def current_update(settings, tmp_path):
    """A version installed (as far as ytdlp_versions can tell) and current on this host."""
    settings.DATA_DIR = tmp_path
    version = "2099.1.1"
    package = ytdlp_versions.site_packages(ytdlp_versions.version_dir(version)) / "yt_dlp"
    package.mkdir(parents=True)
    (package / "__init__.py").touch()
    bundled = ytdlp_versions.bundled_version()
    ytdlp_versions.write_pointer(version, pinned=False, history=[bundled])
    assert ytdlp_versions.current().source == "updated"
    return version


def _finished_tasks(make_key, version: str, internal: int, completed: int) -> None:
    key, _ = make_key(f"tasks-{version}-{internal}-{completed}", ["get_video"])
    for index in range(internal + completed):
        failed = index < internal
        Task.objects.create(
            api_key=key, task_type=TaskType.GET_VIDEO, url="https://example.com/v",
            status=TaskStatus.ERROR if failed else TaskStatus.COMPLETED,
            error_code=ErrorCode.INTERNAL if failed else "", yt_dlp_version=version,
        )  # fmt: skip


def test_a_current_version_failing_most_tasks_as_internal_is_rolled_back(
    current_update, make_key, settings
):
    settings.YTDLP_ROLLBACK_MIN_TASKS, settings.YTDLP_ROLLBACK_SHARE = 5, 0.5
    _finished_tasks(make_key, ytdlp_versions.bundled_version(), internal=0, completed=5)
    _finished_tasks(make_key, current_update, internal=2, completed=2)
    assert ytdlp_updates.roll_back_if_failing(current_update) is None  # 4 tasks: too few

    _finished_tasks(make_key, current_update, internal=1, completed=0)
    result = ytdlp_updates.roll_back_if_failing(current_update)

    assert result.kind == YtdlpEvent.Kind.ROLLED_BACK
    assert "3 of 5 finished tasks" in result.reason
    assert ytdlp_versions.current().source == "bundled"


def test_a_version_failing_no_more_than_the_previous_one_stays(current_update, make_key, settings):
    settings.YTDLP_ROLLBACK_MIN_TASKS, settings.YTDLP_ROLLBACK_SHARE = 5, 0.5
    _finished_tasks(make_key, ytdlp_versions.bundled_version(), internal=4, completed=1)
    _finished_tasks(make_key, current_update, internal=4, completed=1)

    assert ytdlp_updates.roll_back_if_failing(current_update) is None
    assert ytdlp_versions.current().version == current_update


def test_a_version_rolled_back_on_another_host_is_rolled_back_here_at_its_next_failure(
    current_update, make_key
):
    YtdlpEvent.objects.create(
        kind=YtdlpEvent.Kind.ROLLED_BACK, version=current_update, current="2026.10.26",
        host="another-host", reason="5 of 6 finished tasks failed",
    )  # fmt: skip

    result = ytdlp_updates.roll_back_if_failing(current_update)

    assert "rolled back on another host" in result.reason
    assert ytdlp_versions.current().source == "bundled"


def test_the_metrics_name_the_version_this_host_runs(current_update):
    from prometheus_client import CollectorRegistry, generate_latest

    from downloads_app.metrics import YtdlpInfo

    registry = CollectorRegistry()
    registry.register(YtdlpInfo())
    body = generate_latest(registry).decode()
    assert f'ytdlphost_yt_dlp_info{{source="updated",version="{current_update}"}} 1.0' in body


def test_every_module_of_ours_that_imports_yt_dlp_is_reloaded_by_a_swap():
    # A module left out would keep the old version's classes in a worker that swapped.
    repo = Path(__file__).resolve().parents[2]
    importing = set()
    for path in repo.glob("*/**/*.py"):
        if path.parts[len(repo.parts)] in (".venv", "tests", "bench", ".cache"):
            continue
        for node in ast.parse(path.read_text()).body:  # import time: the module's own level
            names = [alias.name for alias in getattr(node, "names", [])]
            module = getattr(node, "module", None) if isinstance(node, ast.ImportFrom) else None
            if any(name.split(".")[0] == "yt_dlp" for name in [module or "", *names]):
                importing.add(".".join(path.relative_to(repo).with_suffix("").parts))
    assert importing == set(ytdlp_versions.RELOADED_MODULES)


def test_the_admin_shows_what_healthz_says_and_every_update(current_update, client):
    from django.contrib.auth.models import User

    YtdlpEvent.objects.create(
        kind=YtdlpEvent.Kind.REFUSED, version="2099.1.2", current=current_update,
        host="here", reason="the canary failed: the generic extractor is broken",
    )  # fmt: skip
    client.force_login(User.objects.create_superuser("updates", "u@example.com", "pw"))

    page = client.get("/admin/downloads_app/ytdlpevent/").content.decode()

    assert f"This host runs yt-dlp {current_update} (updated)" in page
    assert "Last refused: 2099.1.2 (the canary failed: the generic extractor is broken)" in page


def test_the_schedule_never_goes_back_from_a_newer_current_version(
    current_update, settings, monkeypatch
):
    settings.YTDLP_UPDATE = "stable"
    bundled = ytdlp_versions.bundled_version()
    monkeypatch.setattr(ytdlp_updates, "newest_version", lambda channel: bundled)

    result = ytdlp_updates.scheduled_update()

    assert (result["yt_dlp"], result["reason"]) == ("up_to_date", f"{current_update} is newer")
    assert ytdlp_versions.current().version == current_update
