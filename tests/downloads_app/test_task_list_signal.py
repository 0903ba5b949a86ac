"""One definition of "the task list changed": Task.listed_version, new at every write of
what a list shows (LISTED_FIELDS), is what the /tasks ETag and its long poll's wake-up
are made of; writes of anything else change neither."""

import pytest
from django.db import connection
from django.utils import timezone

from downloads_app import listing
from downloads_app.fast_routes import tasks as task_list_route
from downloads_app.models import LISTED_NAMES, Task
from tests.support.listed_writes import UnsignalledListedWrite

pytestmark = pytest.mark.django_db

URL = "http://example.com/video"


def make_task(api_key, **fields):
    return Task.objects.create(api_key=api_key, task_type="get_video", url=URL, **fields)


def test_a_write_around_the_models_fails_the_guard(user):
    task = make_task(user[0])
    table = Task._meta.db_table
    with pytest.raises(UnsignalledListedWrite), connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET "title" = %s WHERE "id" = %s', ["x", task.id])


def test_every_orm_write_of_a_listed_field_gives_a_new_version(user):
    task = make_task(user[0], status="processing")
    versions = [task.listed_version]
    Task.objects.filter(pk=task.pk).update(title="Known")
    versions.append(Task.objects.get(pk=task.pk).listed_version)
    Task._base_manager.filter(pk=task.pk).update(speed=2.0)  # related managers, cascades
    versions.append(Task.objects.get(pk=task.pk).listed_version)
    task.eta = 5
    task.save(update_fields=["eta"])
    versions.append(Task.objects.get(pk=task.pk).listed_version)
    task.error = "Failed"
    Task.objects.bulk_update([task], ["error"])
    versions.append(Task.objects.get(pk=task.pk).listed_version)
    assert len(set(versions)) == len(versions)


# What a list shows nothing of: the worker's bookkeeping.
UNLISTED_WRITES = {
    "heartbeat_at": timezone.now(),
    "worker": "host/boot.1:2",
    "queued_at": timezone.now(),
    "deferred": True,
    "attempts": 2,
    "keep_requested": True,
    "expanded_at": timezone.now(),
    "site": "elsewhere.example",  # what the site limits count by (sites.py)
    # What the worker makes of the request; a list shows what came of it (extra_files).
    "media_options": {"subtitles": ["en"]},
    "reserved_bytes": 1000,  # what the byte quota holds for a task while it runs (quotas.py)
}


def test_every_field_is_either_listed_or_written_below():
    fields = {field.name for field in Task._meta.concrete_fields}
    assert fields - LISTED_NAMES - {"id", "listed_version"} == set(UNLISTED_WRITES)


@pytest.mark.parametrize("field", sorted(UNLISTED_WRITES))
def test_a_write_no_list_shows_changes_neither_the_page_nor_its_signal(user, field):
    make_task(user[0], status="completed", finished_at=timezone.now())
    task = make_task(user[0], status="processing", downloaded_bytes=10, total_bytes=100)
    page = (user[0].pk, (), 50, None)
    before = listing.rendered_task_page.__wrapped__(*page, etag="")
    etag = listing.task_list_version(*page)
    watch = task_list_route.TaskListWatch()
    lists = {user[0].pk, task_list_route.EVERY_KEY}
    watch(lists)
    Task.objects.filter(pk=task.pk).update(**{field: UNLISTED_WRITES[field]})
    assert listing.rendered_task_page.__wrapped__(*page, etag="") == before
    assert listing.task_list_version(*page) == etag
    assert watch(lists) == set()


def test_a_renamed_key_changes_the_etag_of_a_list_of_every_key(user, user_client, make_key):
    admin, secret = make_key("lister", ["get_keys", "get_video"])
    make_task(user[0])
    lister = user_client.__class__()
    lister.credentials(HTTP_X_API_KEY=secret)
    listing_page = lister.get("/tasks?all=true")
    renamed = user[0]
    renamed.name = "renamed"
    renamed.save()
    changed = lister.get("/tasks?all=true", HTTP_IF_NONE_MATCH=listing_page["ETag"])
    assert changed.status_code == 200
    assert {task["key_name"] for task in changed.json()["tasks"]} == {"renamed"}


def test_a_cancel_and_a_retry_through_the_api_change_the_etag_and_wake_the_key(
    user, user_client, django_capture_on_commit_callbacks
):
    task = make_task(user[0])
    watch = task_list_route.TaskListWatch()
    lists = {user[0].pk}
    watch(lists)
    for action in ("cancel", "retry"):
        etag = user_client.get("/tasks")["ETag"]
        with django_capture_on_commit_callbacks(execute=False):
            assert user_client.post(f"/{action}/{task.id}").status_code == 200
        assert user_client.get("/tasks", HTTP_IF_NONE_MATCH=etag).status_code == 200
        assert watch(lists) == lists
