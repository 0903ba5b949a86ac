"""Everything that happens to a Task: create, claim, run, finish, clean up.

Views and django-q2 entry points (tasks.py) call these; nothing else changes a Task's
status.
"""

import json
import logging
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from downloads_app import media, ytdlp
from downloads_app.models import Task, TaskStatus, TaskType
from keys_app.models import APIKey
from keys_app.throttle import reserve_task_slot

logger = logging.getLogger("ytdlphost.tasks")

# A task's files are written here first and moved into the task's directory only when
# complete, so a `completed` status never points at a half-written file.
WORK_DIR_NAME = ".partial"
# Progress is written to the database at most this often (seconds).
PROGRESS_INTERVAL = 1.0


def task_dir(task_id: str) -> Path:
    return settings.DOWNLOAD_DIR / task_id


def task_create(api_key: APIKey, task_type: TaskType, fields: dict) -> Task:
    """A new waiting task, queued for a worker once the row is committed.

    The rate limit is checked and the row written in one transaction holding the key's
    lock, so concurrent requests of one key cannot both take the last slot.
    """
    with transaction.atomic():
        reserve_task_slot(api_key)
        task = Task.objects.create(api_key=api_key, task_type=task_type, **fields)
        transaction.on_commit(lambda: enqueue(task.id))
    logger.info("task %s created: %s for key %s", task.id, task_type, api_key.name)
    return task


def enqueue(task_id: str) -> None:
    async_task("downloads_app.tasks.run_task", task_id, task_name=f"task-{task_id}")


def task_claim(task_id: str) -> Task | None:
    """Mark a waiting task as processing; None when it is not waiting (already taken by
    another worker, a duplicate delivery, or deleted)."""
    claimed = Task.objects.filter(pk=task_id, status=TaskStatus.WAITING).update(
        status=TaskStatus.PROCESSING, started_at=timezone.now()
    )
    return Task.objects.filter(pk=task_id).first() if claimed else None


class ProgressRecorder:
    """A yt-dlp progress hook that writes to the task row at most once per interval."""

    def __init__(self, task_id: str, interval: float = PROGRESS_INTERVAL):
        self.task_id = task_id
        self.interval = interval
        self.last_write = 0.0

    def __call__(self, status: dict):
        if status.get("status") != "downloading":
            return
        now = time.monotonic()
        if now - self.last_write < self.interval:
            return
        self.last_write = now
        Task.objects.filter(pk=self.task_id).update(
            downloaded_bytes=status.get("downloaded_bytes"),
            total_bytes=status.get("total_bytes") or status.get("total_bytes_estimate"),
            speed=status.get("speed"),
            eta=status.get("eta"),
        )


def _write_json_atomically(data: dict, destination: Path, work_dir: Path) -> None:
    temporary = work_dir / destination.name
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, destination)


def _produce(task: Task, work_dir: Path) -> str:
    """Do the task's work; returns the published file's name."""
    final_dir = task_dir(task.id)
    if task.task_type == TaskType.GET_INFO:
        info = ytdlp.extract_metadata(task.url)
        _write_json_atomically(info, final_dir / "info.json", work_dir)
        return "info.json"
    downloaded = ytdlp.download(task, work_dir, ProgressRecorder(task.id))
    if task.is_audio:
        result = media.finalize_audio(downloaded, task.output_format, work_dir)
    else:
        result = media.finalize_video(downloaded, task.output_format, work_dir)
    file_name = f"{task.file_stem}{result.suffix}"
    os.replace(result, final_dir / file_name)
    return file_name


def task_run(task_id: str) -> None:
    """Run a task to its end. Expected failures end the task as `error`; the worker
    itself never fails because of a task."""
    task = task_claim(task_id)
    if task is None:
        return
    work_dir = task_dir(task.id) / WORK_DIR_NAME
    started = time.monotonic()
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        file_name = _produce(task, work_dir)
    except (ytdlp.DownloadFailed, media.ConversionFailed) as exc:
        _finish(task, TaskStatus.ERROR, error=str(exc))
    except Exception as exc:
        logger.exception("task %s failed unexpectedly", task.id)
        _finish(task, TaskStatus.ERROR, error=f"Internal error: {type(exc).__name__}: {exc}")
    else:
        _finish(task, TaskStatus.COMPLETED, file_name=file_name)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    logger.info(
        "task %s %s: %s for key %s in %.1fs",
        task.id, task.status, task.task_type, task.api_key.name, time.monotonic() - started,
    )  # fmt: skip


def _finish(task: Task, status: TaskStatus, file_name: str = "", error: str = "") -> None:
    task.status, task.file_name, task.error = status, file_name, error
    task.finished_at = timezone.now()
    Task.objects.filter(pk=task.pk).update(
        status=status, file_name=file_name, error=error, finished_at=task.finished_at
    )


def cleanup_expired() -> dict:
    """Delete tasks finished TASK_CLEANUP_TIME minutes ago, with their files, and sweep
    directories in DOWNLOAD_DIR that belong to no task."""
    cutoff = timezone.now() - timedelta(minutes=settings.TASK_CLEANUP_TIME)
    expired = list(Task.objects.filter(finished_at__lt=cutoff).values_list("id", flat=True))
    for task_id in expired:
        shutil.rmtree(task_dir(task_id), ignore_errors=True)
    Task.objects.filter(pk__in=expired).delete()
    swept = sweep_orphan_directories()
    return {"tasks_deleted": len(expired), "orphans_swept": swept}


# A directory younger than this may belong to a task whose row is not yet visible.
ORPHAN_GRACE_SECONDS = 60


def sweep_orphan_directories() -> int:
    root = settings.DOWNLOAD_DIR
    if not root.is_dir():
        return 0
    now = time.time()
    candidates = [
        entry for entry in root.iterdir()
        if entry.is_dir() and now - entry.stat().st_mtime > ORPHAN_GRACE_SECONDS
    ]  # fmt: skip
    known = set(
        Task.objects.filter(pk__in=[c.name for c in candidates]).values_list("id", flat=True)
    )
    swept = 0
    for entry in candidates:
        if entry.name not in known:
            shutil.rmtree(entry, ignore_errors=True)
            swept += 1
    return swept
