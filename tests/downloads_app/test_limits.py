"""Limits and failures of a running task: it ends as `error` with a useful message,
leaves no partial file, and the worker goes on serving other tasks."""

import pytest

pytestmark = pytest.mark.django_db


def assert_no_files_left(task):
    from django.conf import settings

    directory = settings.DOWNLOAD_DIR / task.id
    assert not directory.exists() or not any(directory.rglob("*"))


def test_a_download_larger_than_max_filesize_fails_and_leaves_nothing(
    run_task, progressive_url, settings
):
    settings.MAX_FILESIZE = 100 * 1024
    task, status = run_task("/get_video", {"url": progressive_url})
    assert status["status"] == "error"
    assert "MAX_FILESIZE" in status["error"]
    assert (status["error_code"], status["retry_after"]) == ("too_large", None)
    assert_no_files_left(task)


def test_an_ffmpeg_download_larger_than_max_filesize_fails(run_task, live_url, settings):
    settings.MAX_FILESIZE = 20 * 1024
    task, status = run_task("/get_live_video", {"url": live_url, "duration": 6})
    assert status["status"] == "error"
    assert "MAX_FILESIZE" in status["error"]
    assert status["error_code"] == "too_large"
    assert_no_files_left(task)


def test_a_download_that_would_leave_too_little_disk_fails(run_task, progressive_url, settings):
    settings.MIN_FREE_DISK = 1024**5  # a petabyte
    task, status = run_task("/get_video", {"url": progressive_url})
    assert status["status"] == "error"
    assert "free disk" in status["error"]
    assert status["error_code"] == "no_space"
    assert_no_files_left(task)


def test_a_task_past_its_time_limit_ends_as_error(run_task, progressive_url, settings):
    settings.TASK_TIME_LIMIT = 1
    # ?rate= makes the fixture server send 100 kB/s: the 0.9 MB file takes ~9 s.
    task, status = run_task("/get_video", {"url": progressive_url + "?rate=100000"})
    assert status["status"] == "error"
    assert "time limit" in status["error"]
    assert status["error_code"] == "timeout"
    assert_no_files_left(task)


def test_without_ffmpeg_the_task_fails_clearly_and_the_next_one_runs(
    run_task, dash_url, monkeypatch, tmp_path
):
    import os

    python_only = tmp_path / "bin"
    python_only.mkdir()
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(python_only))
        _, status = run_task("/get_audio", {"url": dash_url, "output_format": "mp3"})
    assert status["status"] == "error"
    assert "ffmpeg" in status["error"].lower() or "ffprobe" in status["error"].lower()
    assert status["error_code"] == "internal"  # the server lacks a program it needs
    assert os.environ["PATH"] != str(python_only)
    _, status = run_task("/get_audio", {"url": dash_url, "output_format": "mp3"})
    assert status["status"] == "completed"


def test_an_unexpected_yt_dlp_failure_ends_the_task_and_not_the_worker(
    run_task, progressive_url, monkeypatch
):
    from downloads_app import ytdlp

    def broken_extract(self, *args, **kwargs):
        raise KeyError("formats")  # the kind of bug an extractor update can bring

    with monkeypatch.context() as patched:
        patched.setattr(ytdlp.GuardedYoutubeDL, "extract_info", broken_extract)
        _, status = run_task("/get_info", {"url": progressive_url})
    assert status["status"] == "error"
    assert "Internal error" in status["error"] and "formats" in status["error"]
    assert status["error_code"] == "internal"
    _, status = run_task("/get_info", {"url": progressive_url})
    assert status["status"] == "completed"


def test_a_task_whose_process_dies_ends_as_an_internal_error(
    run_task, progressive_url, monkeypatch
):
    import os
    import signal

    from downloads_app import ytdlp

    with monkeypatch.context() as patched:
        # The task's process is killed (the OOM killer, a crash in C).
        patched.setattr(ytdlp, "extract_metadata", lambda url: os.kill(os.getpid(), signal.SIGKILL))
        task, status = run_task("/get_info", {"url": progressive_url})
    assert status["status"] == "error"
    assert "Internal error" in status["error"] and "SIGKILL" in status["error"]
    assert status["error_code"] == "internal"
    assert_no_files_left(task)
    _, status = run_task("/get_info", {"url": progressive_url})
    assert status["status"] == "completed"
