from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from downloads_app.models import TaskStatus
from keys_app.models import APIKey
from legacy_import import keys as key_import
from legacy_import import tasks as task_import
from legacy_import.json_files import LegacyImportError


class Command(BaseCommand):
    help = (
        "Import the API keys, and optionally the tasks, of a yt-dlp-host installation from "
        "its jsons/api_keys.json and jsons/tasks.json. Keys keep their secrets, so clients "
        "keep working. Every entry is checked first; any problem imports nothing. Running "
        "it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keys", type=Path, required=True, metavar="FILE", help="yt-dlp-host's api_keys.json"
        )
        parser.add_argument("--tasks", type=Path, metavar="FILE", help="yt-dlp-host's tasks.json")
        parser.add_argument(
            "--downloads",
            type=Path,
            metavar="DIR",
            help="yt-dlp-host's download directory: the directories of completed tasks are "
            "copied from it into DOWNLOAD_DIR",
        )
        parser.add_argument(
            "--update",
            action="store_true",
            help="replace the secret and permissions of a key of the same name here",
        )
        parser.add_argument(
            "--drop-unknown-permissions",
            action="store_true",
            help="import keys without the permissions this service does not know",
        )

    def handle(self, *args, keys, tasks, downloads, update, drop_unknown_permissions, **options):
        if downloads is not None and (tasks is None or not downloads.is_dir()):
            raise CommandError("--downloads needs --tasks and an existing directory")
        try:
            legacy_keys, warnings = key_import.read_keys(keys, drop_unknown_permissions)
            legacy_tasks, tasks_text = task_import.read_tasks(tasks) if tasks else ([], "")
            key_plan = key_import.plan_key_import(legacy_keys, update=update)
            key_names = {k.name for k in legacy_keys} | set(
                APIKey.objects.filter(name__in={t.key_name for t in legacy_tasks}).values_list(
                    "name", flat=True
                )
            )
            task_plan = task_import.plan_task_import(
                legacy_tasks, key_names, tasks_text, tasks.name if tasks else "", downloads
            )
            copied = task_import.copy_task_files(task_plan)
        except LegacyImportError as exc:
            raise CommandError(f"{exc}\nNothing was imported.") from None
        for warning in warnings:
            self.stderr.write(warning)
        try:
            with transaction.atomic():
                key_import.apply_key_plan(key_plan)
                task_import.apply_task_plan(task_plan)
        except IntegrityError:
            task_import.remove_copies(copied)
            raise CommandError(
                "A key or task was created here while importing; nothing was imported. "
                "Run the command again."
            ) from None
        except BaseException:
            task_import.remove_copies(copied)
            raise
        self.stdout.write(
            f"keys: {len(key_plan.create)} created, {len(key_plan.unchanged)} unchanged, "
            f"{len(key_plan.update)} updated"
        )
        if tasks is not None:
            self.stdout.write(
                f"tasks: {len(task_plan.create)} created, {len(task_plan.unchanged)} unchanged "
                f"(new: {task_plan.count(TaskStatus.COMPLETED)} completed, "
                f"{task_plan.count(TaskStatus.ERROR)} error, "
                f"{task_plan.count(TaskStatus.WAITING)} queued; "
                f"{len(task_plan.copies)} directories copied)"
            )
            missing = sum(1 for t in task_plan.create if t.error == task_import.FILE_NOT_FOUND)
            if missing:
                self.stderr.write(
                    f"{missing} completed task(s) had no file in DOWNLOAD_DIR"
                    f"{' or --downloads' if downloads else ''}; imported as error."
                )
