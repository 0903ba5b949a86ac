"""The pollers' checks behind `?wait=S` (downloads_app/fast_routes/): what wakes a
waiting /status and a waiting /tasks."""

import pytest
from django.utils import timezone

from downloads_app.fast_routes import status as status_route
from downloads_app.fast_routes import tasks as task_list_route
from downloads_app.models import Task, TaskStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(user):
    return Task.objects.create(api_key=user[0], task_type="get_video", url="http://example.com/v")


def test_a_waited_task_wakes_its_waiters_once_finished_or_gone(task, user):
    other = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com/x")
    waited = {task.id, other.id, "deleted-meanwhile"}
    assert status_route.unfinished_tasks_gone(waited) == {"deleted-meanwhile"}
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.PROCESSING)
    assert status_route.unfinished_tasks_gone(waited) == {"deleted-meanwhile"}
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.COMPLETED)
    assert status_route.unfinished_tasks_gone(waited) == {task.id, "deleted-meanwhile"}


def test_the_task_list_watch_wakes_on_any_change_of_the_table_and_only_then(task, user):
    watch = task_list_route.TaskTableWatch()
    lists = {task_list_route.TASK_LIST}
    assert watch(lists) == lists  # nothing to compare with yet
    assert watch(lists) == set()
    changes = [
        lambda: Task.objects.filter(pk=task.pk).update(status=TaskStatus.PROCESSING),
        lambda: Task.objects.filter(pk=task.pk).update(downloaded_bytes=100),
        lambda: Task.objects.filter(pk=task.pk).update(title="Now known"),
        lambda: Task.objects.filter(pk=task.pk).update(
            status=TaskStatus.COMPLETED, finished_at=timezone.now()
        ),
        lambda: Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com/y"),
        lambda: Task.objects.filter(pk=task.pk).delete(),
    ]
    for change in changes:
        change()
        assert watch(lists) == lists
        assert watch(lists) == set()
