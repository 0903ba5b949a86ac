"""Where a task's files live: its directory under DOWNLOAD_DIR, and each run's work
directory inside it."""

import shutil
from pathlib import Path

from django.conf import settings

from downloads_app.models import Task

# A task's files are written in a work directory of its run first and moved into the
# task's directory only when complete, so a `completed` status never points at a
# half-written file. Each run has its own (`.partial-<attempt>`), so a run that lost its
# task to recovery and ends late removes its own files, never those of the run after it.
WORK_DIR_NAME = ".partial"


def task_dir(task_id: str) -> Path:
    return settings.DOWNLOAD_DIR / task_id


def work_dir(task: Task) -> Path:
    """The work directory of the task's current run (WORK_DIR_NAME)."""
    return task_dir(task.id) / f"{WORK_DIR_NAME}-{task.attempts}"


def remove_work_dirs(task_id: str) -> None:
    """Remove what every run of the task left unfinished."""
    directory = task_dir(task_id)
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.name.startswith(WORK_DIR_NAME):
                shutil.rmtree(entry, ignore_errors=True)
