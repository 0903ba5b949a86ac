"""Reading the tasks of a yt-dlp-host installation (its `jsons/tasks.json`).

Used by `manage.py import_legacy`, after the keys (legacy_import/keys.py): every entry is
read and checked, then the plan decides each new task's status, then the command copies
files and writes the rows in one transaction.

How statuses carry over:
    completed            -> completed, when its file is under DOWNLOAD_DIR/<task_id>/ (or
                            is copied there from --downloads); otherwise error, with
                            FILE_NOT_FOUND
    error                -> error
    waiting, processing  -> waiting, queued once the import commits, so it runs here
"""

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from downloads_app import directories, lifecycle
from downloads_app.errors import strip_ansi
from downloads_app.models import Task, TaskStatus, TaskType
from downloads_app.serializers import INPUT_BY_TASK_TYPE, task_fields
from keys_app.models import APIKey
from legacy_import.json_files import (
    LegacyImportError,
    json_type,
    read_json_object,
    serializer_problem,
    where,
)

FILE_NOT_FOUND = "File not found after import from yt-dlp-host"
NO_ERROR_MESSAGE = "Failed on yt-dlp-host (no message was recorded)"
# yt-dlp-host's ids are 16 letters and digits; this service's are URL-safe base64. Either
# way the id names a directory, so nothing that could leave DOWNLOAD_DIR gets in.
TASK_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_FILE_NAME_LENGTH = Task._meta.get_field("file_name").max_length
# yt-dlp-host's statuses are this service's four, by the same names.
LEGACY_STATUSES = tuple(TaskStatus.values)
STILL_TO_RUN = (TaskStatus.WAITING, TaskStatus.PROCESSING)


def parse_completed_time(value: str) -> datetime:
    """yt-dlp-host wrote datetime.now().isoformat(), without a zone: taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def file_name_from_url(task_id: str, file_url: str) -> str:
    """The file name of `/files/<task_id>/<name>`, or "" for anything else (such as the
    gs:// address of yt-dlp-host's cloud storage mode)."""
    prefix = f"/files/{task_id}/"
    if not file_url.startswith(prefix):
        return ""
    name = file_url[len(prefix) :]
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\x00" in name:
        return ""
    return name if len(name) <= MAX_FILE_NAME_LENGTH else ""


@dataclass
class LegacyTask:
    id: str
    key_name: str
    legacy_status: str
    fields: dict  # Task fields of what was asked for: url, formats, clip or live times
    file_name: str = ""
    error: str = ""
    finished_at: datetime | None = None
    status: str = ""  # what it becomes here; set by plan_task_import

    @property
    def still_to_run(self) -> bool:
        return self.legacy_status in STILL_TO_RUN


def _optional(entry: dict, name: str, kind: type, default=None):
    value = entry.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f'"{name}" must be {json_type(kind())}, not {json_type(value)}')
    return value


def _request_fields(entry: dict, task_type: TaskType, finished: bool) -> dict:
    """The Task fields of what the entry asked for, checked by the endpoint's serializer.

    The URL's host is not looked up (the connection guard judges every address when the
    task runs); a finished task is only a record, so the rules on what may run here do
    not apply to it.
    """
    # yt-dlp-host wrote null for what a request left out.
    data = {name: value for name, value in entry.items() if value is not None}
    serializer = INPUT_BY_TASK_TYPE[task_type](
        data=data, context={"resolve_hosts": False, "finished": finished}
    )
    if not serializer.is_valid():
        raise ValueError(serializer_problem(serializer.errors))
    return task_fields(serializer.validated_data)


def parse_task_entry(task_id: str, entry) -> LegacyTask:
    """One task of tasks.json; raises ValueError saying what is wrong with it."""
    if not TASK_ID_PATTERN.fullmatch(task_id):
        raise ValueError("a task id is 1 to 32 letters, digits, - and _")
    if not isinstance(entry, dict):
        raise ValueError(f"must be an object, not {json_type(entry)}")
    key_name = _optional(entry, "key_name", str)
    if not key_name:
        raise ValueError('has no "key_name" (the key that created it)')
    status = entry.get("status")
    if status not in LEGACY_STATUSES:
        raise ValueError(f'"status" must be one of {", ".join(LEGACY_STATUSES)}')
    # yt-dlp-host's types; it had no playlists.
    if entry.get("task_type") not in INPUT_BY_TASK_TYPE:
        raise ValueError(f'"task_type" must be one of {", ".join(INPUT_BY_TASK_TYPE)}')
    task_type = TaskType(entry["task_type"])
    fields = _request_fields(entry, task_type, finished=status not in STILL_TO_RUN)
    completed_time = _optional(entry, "completed_time", str)
    try:
        finished_at = parse_completed_time(completed_time) if completed_time else None
    except ValueError:
        raise ValueError('"completed_time" must be an ISO 8601 date and time') from None
    return LegacyTask(
        id=task_id,
        key_name=key_name,
        legacy_status=status,
        fields={"task_type": task_type, **fields},
        file_name=file_name_from_url(task_id, _optional(entry, "file", str, default="")),
        error=strip_ansi(_optional(entry, "error", str, default="")).strip(),
        finished_at=finished_at,
    )


def parse_tasks(data: dict, text: str, file_name: str) -> list[LegacyTask]:
    """The tasks of tasks.json; raises LegacyImportError naming every problem."""
    tasks, problems = [], []
    for task_id, entry in data.items():
        try:
            tasks.append(parse_task_entry(task_id, entry))
        except ValueError as exc:
            problems.append(f'{where(file_name, text, task_id)}: task "{task_id}": {exc}')
    if problems:
        raise LegacyImportError(problems)
    return tasks


def read_tasks(path: Path) -> tuple[list[LegacyTask], str]:
    """(tasks, the file's text) from a tasks.json file."""
    data, text = read_json_object(path)
    return parse_tasks(data, text, path.name), text


def _is_plain_file(path: Path) -> bool:
    # /files/ never serves through a symlink; one would be imported as a missing file.
    return path.is_file() and not path.is_symlink()


@dataclass
class TaskPlan:
    create: list[LegacyTask] = field(default_factory=list)
    unchanged: list[LegacyTask] = field(default_factory=list)
    # (legacy directory, task): completed tasks whose file is in --downloads.
    copies: list[tuple[Path, LegacyTask]] = field(default_factory=list)

    def count(self, status: TaskStatus) -> int:
        return sum(1 for task in self.create if task.status == status)


def plan_task_import(
    tasks: list[LegacyTask],
    key_names: set[str],
    text: str,
    file_name: str,
    downloads_dir: Path | None = None,
) -> TaskPlan:
    """What importing these tasks does; sets each new task's `status`. `key_names` are
    the keys that will exist once the keys are imported. Raises LegacyImportError when a
    task belongs to no key."""
    problems = [
        f'{where(file_name, text, task.id)}: task "{task.id}": '
        f'its key "{task.key_name}" is neither in the keys file nor here'
        for task in tasks
        if task.key_name not in key_names
    ]
    if problems:
        raise LegacyImportError(problems)
    plan = TaskPlan()
    existing = set(Task.objects.filter(pk__in=[t.id for t in tasks]).values_list("pk", flat=True))
    for task in tasks:
        if task.id in existing:
            plan.unchanged.append(task)
            continue
        plan.create.append(task)
        if task.still_to_run:
            task.status = TaskStatus.WAITING
        elif task.legacy_status == TaskStatus.ERROR:
            task.status, task.error = TaskStatus.ERROR, task.error or NO_ERROR_MESSAGE
        elif task.file_name and _is_plain_file(directories.task_dir(task.id) / task.file_name):
            task.status = TaskStatus.COMPLETED
        elif (
            task.file_name
            and downloads_dir is not None
            and _is_plain_file(downloads_dir / task.id / task.file_name)
        ):
            task.status = TaskStatus.COMPLETED
            plan.copies.append((downloads_dir / task.id, task))
        else:
            task.status, task.file_name, task.error = TaskStatus.ERROR, "", FILE_NOT_FOUND
    return plan


def copy_task_files(plan: TaskPlan) -> list[Path]:
    """Copy the directories of the plan's completed tasks into DOWNLOAD_DIR; returns what
    was created, for remove_copies should the import fail. Raises LegacyImportError (with
    nothing left behind) when a copy fails."""
    created = []
    for source, task in plan.copies:
        destination = directories.task_dir(task.id)
        try:
            if destination.exists():
                # Only the file is missing there; leave whatever else is in the directory.
                created.append(destination / task.file_name)
                shutil.copy2(source / task.file_name, destination / task.file_name)
            else:
                created.append(destination)
                shutil.copytree(source, destination, symlinks=True)
        except OSError as exc:
            remove_copies(created)
            raise LegacyImportError(
                [f'task "{task.id}": copying its files failed: {exc}']
            ) from None
    # copytree keeps the old modification times, and the cleanup sweeps directories older
    # than a minute that belong to no task; until the rows are committed these belong to
    # none. Fresh times give the import that minute.
    for _, task in plan.copies:
        os.utime(directories.task_dir(task.id))
    return created


def remove_copies(created: list[Path]) -> None:
    for path in created:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _enqueue(task_id: str) -> None:
    lifecycle.enqueue(task_id)


def apply_task_plan(plan: TaskPlan) -> None:
    """Write the plan's tasks; run inside the import's transaction, after the keys.

    Waiting tasks are queued when the transaction commits, so a worker never sees an
    uncommitted row.
    """
    keys = {k.name: k for k in APIKey.objects.filter(name__in={t.key_name for t in plan.create})}
    now = timezone.now()
    for task in plan.create:
        finished = task.status != TaskStatus.WAITING
        Task.objects.create(
            id=task.id,
            api_key=keys[task.key_name],
            status=task.status,
            file_name=task.file_name if task.status == TaskStatus.COMPLETED else "",
            error=task.error if task.status == TaskStatus.ERROR else "",
            finished_at=(task.finished_at or now) if finished else None,
            **task.fields,
        )
        if finished and task.finished_at:
            # yt-dlp-host kept no creation time. The finish time is the closest, and keeps
            # old tasks out of the key's rate-limit window (which counts by created_at).
            Task.objects.filter(pk=task.id).update(created_at=task.finished_at)
        if not finished:
            transaction.on_commit(partial(_enqueue, task.id))
