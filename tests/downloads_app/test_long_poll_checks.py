"""The pollers' checks behind `?wait=S` (downloads_app/fast_routes/): what wakes a
waiting /status and a waiting /tasks."""

import pytest
from django.utils import timezone

from downloads_app.fast_routes import status as status_route
from downloads_app.fast_routes import tasks as task_list_route
from downloads_app.models import Task, TaskStatus, WebhookDelivery

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


def test_the_task_list_watch_wakes_a_key_s_lists_on_any_change_of_its_tasks_only(
    task, user, make_key
):
    other_key, _ = make_key("other", ["get_info"])
    watch = task_list_route.TaskListWatch()
    lists = {user[0].pk, other_key.pk, task_list_route.EVERY_KEY}
    assert watch(lists) == lists  # nothing to compare with yet
    assert watch(lists) == set()
    changes = [
        lambda: Task.objects.filter(pk=task.pk).update(status=TaskStatus.PROCESSING),
        lambda: Task.objects.filter(pk=task.pk).update(downloaded_bytes=100),
        lambda: Task.objects.filter(pk=task.pk).update(title="Now known"),
        lambda: Task.objects.filter(pk=task.pk).update(
            status=TaskStatus.COMPLETED, finished_at=timezone.now()
        ),
        lambda: WebhookDelivery.objects.create(
            api_key=user[0],
            task_id=task.id,
            event_type="task.completed",
            url="http://example.com/hook",
            payload="{}",
            state="pending",
            attempts=0,
        ),  # fmt: skip
        lambda: WebhookDelivery.objects.filter(task_id=task.id).update(attempts=1),
        lambda: Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com/y"),
        lambda: Task.objects.filter(pk=task.pk).delete(),
    ]
    for change in changes:
        change()
        assert watch(lists) == {user[0].pk, task_list_route.EVERY_KEY}
        assert watch(lists) == set()
    Task.objects.create(api_key=other_key, task_type="get_info", url="http://e.com/z")
    assert watch(lists) == {other_key.pk, task_list_route.EVERY_KEY}


@pytest.mark.parametrize(
    "change",
    [
        {"speed": 1.5},
        {"eta": 3},
        {"total_bytes": 1000},
        {"cancelled": True},
        {"error_detail": "why"},
        {"file_name": "v.mp4"},
        {"webhook_url": "http://example.com/hook"},
    ],
)
def test_each_shown_field_of_a_task_wakes_its_key_s_lists(task, user, change):
    # A change the /tasks ETag sees must wake its waiters at once, not at a recheck.
    watch = task_list_route.TaskListWatch()
    lists = {user[0].pk, task_list_route.EVERY_KEY}
    watch(lists)
    Task.objects.filter(pk=task.pk).update(**change)
    assert watch(lists) == lists


def test_a_delivery_s_state_alone_wakes_its_key_s_lists(task, user):
    delivery = WebhookDelivery.objects.create(
        api_key=user[0], task_id=task.id, event_type="task.completed",
        url="http://example.com/hook", payload="{}", state="pending", attempts=1,
    )  # fmt: skip
    watch = task_list_route.TaskListWatch()
    lists = {user[0].pk, task_list_route.EVERY_KEY}
    watch(lists)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivered")
    assert watch(lists) == lists


def test_a_renamed_key_wakes_the_lists_of_every_key(task, user):
    watch = task_list_route.TaskListWatch()
    lists = {task_list_route.EVERY_KEY}
    watch(lists)
    api_key = user[0]
    api_key.name = "renamed"
    api_key.save()
    assert watch(lists) == lists


def test_a_task_created_as_another_is_deleted_wakes_its_key_s_lists(task, user):
    # The same count of tasks, the same sums of the lengths the old check added up.
    twin = Task.objects.create(api_key=user[0], task_type="get_video", url="http://example.com/v")
    watch = task_list_route.TaskListWatch()
    lists = {user[0].pk}
    watch(lists)
    twin.delete()
    replacement = Task.objects.create(
        api_key=user[0], task_type="get_video", url="http://example.com/v"
    )
    Task.objects.filter(pk=replacement.pk).update(created_at=twin.created_at)
    assert watch(lists) == lists
