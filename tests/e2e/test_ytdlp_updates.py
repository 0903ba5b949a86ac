"""A running stack's workers follow yt-dlp's updates with no restart: an update by the
command, then a version that fails real tasks, rolled back on its own."""

import pytest
import requests

from downloads_app import ytdlp_updates, ytdlp_versions
from tests.support.stack import LiveStack


def _healthz_ytdlp(stack) -> dict:
    return requests.get(f"{stack.base_url}/healthz?skip=workers", timeout=10).json()["checks"][
        "yt_dlp"
    ]


@pytest.mark.e2e
def test_workers_run_each_new_version_from_their_next_task_and_roll_a_failing_one_back(
    tmp_path, ytdlp_wheels, progressive_url, settings, monkeypatch
):
    env = {**ytdlp_wheels.pip_environment, "YTDLP_ROLLBACK_MIN_TASKS": "1"}
    with LiveStack(tmp_path / "stack", env=env) as stack:
        stack.start()
        cluster = stack.processes[0]
        bundled = ytdlp_versions.bundled_version()
        before = stack.run(stack.admin_key, "/get_video", {"url": progressive_url})
        assert (before["status"], before["yt_dlp_version"]) == ("completed", bundled)

        output = stack.manage("update_ytdlp", "--version", ytdlp_wheels.good)
        assert output.startswith("updated: ")

        updated = stack.run(stack.admin_key, "/get_video", {"url": progressive_url})
        assert (updated["status"], updated["yt_dlp_version"]) == ("completed", ytdlp_wheels.good)
        assert cluster.poll() is None  # the same cluster, never restarted
        assert _healthz_ytdlp(stack)["version"] == ytdlp_wheels.good
        # The swapped worker tells the new version's errors apart as before.
        missing = progressive_url.replace("progressive.mp4", "missing.mp4")
        gone = stack.run(stack.admin_key, "/get_video", {"url": missing})
        assert stack.task_row(gone["task_id"])["error_code"] == "not_found", gone

        # A version whose fault no canary caught, made current as if it had passed one:
        # its tasks fail as `internal`, and the first failure (YTDLP_ROLLBACK_MIN_TASKS=1)
        # rolls it back to the previous version.
        settings.DATA_DIR = stack.data_dir
        for name, value in ytdlp_wheels.pip_environment.items():
            monkeypatch.setenv(name, value)
        ytdlp_updates.install(ytdlp_wheels.broken)
        history = [bundled, ytdlp_wheels.good]
        ytdlp_versions.write_pointer(ytdlp_wheels.broken, pinned=False, history=history)

        failed = stack.run(stack.admin_key, "/get_video", {"url": progressive_url})
        assert failed["status"] == "error", failed
        assert failed["yt_dlp_version"] == ytdlp_wheels.broken
        assert stack.task_row(failed["task_id"])["error_code"] == "internal"

        health = _healthz_ytdlp(stack)
        assert (health["version"], health["source"]) == (ytdlp_wheels.good, "updated")
        assert health["last_refused"]["version"] == ytdlp_wheels.broken
        assert health["last_refused"]["outcome"] == "rolled_back"
        after = stack.run(stack.admin_key, "/get_video", {"url": progressive_url})
        assert (after["status"], after["yt_dlp_version"]) == ("completed", ytdlp_wheels.good)
        assert cluster.poll() is None
