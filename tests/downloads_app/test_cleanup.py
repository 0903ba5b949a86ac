import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule

from downloads_app import maintenance
from downloads_app.models import Task
from downloads_app.schedules import CLEANUP_SCHEDULE_NAME

pytestmark = pytest.mark.django_db


def test_finished_tasks_and_their_files_are_removed_after_the_cleanup_time(
    run_task, result_path, progressive_url, settings
):
    settings.TASK_CLEANUP_TIME = 1  # minute
    task, _ = run_task("/get_audio", {"url": progressive_url})
    directory = result_path(task).parent
    assert maintenance.cleanup_expired()["tasks_deleted"] == 0
    # A minute later, without waiting for it: the task finished a minute earlier.
    earlier = F("finished_at") - timedelta(minutes=1, seconds=1)
    Task.objects.filter(pk=task.pk).update(finished_at=earlier)
    assert maintenance.cleanup_expired()["tasks_deleted"] == 1
    assert not Task.objects.filter(pk=task.pk).exists()
    assert not directory.exists()


def test_unfinished_tasks_are_kept(user, settings):
    settings.TASK_CLEANUP_TIME = 0
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    Task.objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(days=1))
    maintenance.cleanup_expired()
    assert Task.objects.filter(pk=task.pk).exists()


def test_directories_of_no_task_are_swept_after_a_grace_period(user):
    orphan = settings.DOWNLOAD_DIR / "orphan-dir"
    fresh = settings.DOWNLOAD_DIR / "fresh-dir"
    for directory in (orphan, fresh):
        directory.mkdir()
        (directory / "file").write_text("x")
    old = time.time() - maintenance.ORPHAN_GRACE_SECONDS - 10
    os.utime(orphan, (old, old))
    assert maintenance.sweep_orphan_directories() == 1
    assert not orphan.exists() and fresh.exists()


def test_migrate_creates_the_cleanup_schedule_once():
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    schedule = Schedule.objects.get(name=CLEANUP_SCHEDULE_NAME)
    assert schedule.func == "downloads_app.tasks.cleanup"
    assert Schedule.objects.filter(name=CLEANUP_SCHEDULE_NAME).count() == 1
