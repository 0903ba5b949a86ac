"""The task list and its ETag: a page of tasks, and the digest that changes whenever that
page would read differently.

The rest of what happens to a task is in lifecycle.py, runner.py and maintenance.py.
"""

import functools
import hashlib

from django.conf import settings
from django.db import connection
from django.db.models import CharField, OuterRef, Q, Subquery, TextField, Value
from django.db.models.functions import Cast, Concat

from downloads_app.lifecycle import UNFINISHED
from downloads_app.models import PLAYLIST_ENTRY_FIELDS, Task, TaskType, WebhookDelivery


def _task_page(api_key_id: int | None, filters, limit: int, after=None):
    """The page's tasks: of the key `api_key_id` (every key's when None), matching
    `filters` (a dict or its items)."""
    tasks = Task.objects.filter(**dict(filters))
    if api_key_id is not None:
        tasks = tasks.filter(api_key_id=api_key_id)
    if after is not None:
        created_at, task_id = after
        tasks = tasks.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=task_id)
        )
    return tasks.order_by("-created_at", "-id")[: limit + 1]


def task_list(api_key_id: int | None, filters, limit: int, after=None) -> list[Task]:
    """Tasks newest first (of the key `api_key_id`, or every key's when None), matching
    `filters` (a dict or its items), starting after the cursor position `after`
    (created_at, id); `limit` + 1 are read, so the caller can tell whether another page
    follows. The playlists' entries, latest webhook deliveries and, for an entry, its
    playlist (whose end decides the entry's expires_at) are read with them."""
    tasks = list(_task_page(api_key_id, filters, limit, after).select_related("api_key", "parent"))
    read_playlist_entries(tasks)
    read_webhook_deliveries(tasks)
    return tasks


def read_webhook_deliveries(tasks: list[Task]) -> None:
    """Reads the latest webhook delivery of every ended task among `tasks` in one query
    (Task.webhook_delivery); otherwise each one costs a query of its own, most of a
    /tasks page's time (bench/profile_status.py --target tasks)."""
    ended = {task.id: task for task in tasks if task.status not in UNFINISHED}
    latest = {}
    for delivery in WebhookDelivery.objects.filter(task_id__in=ended).order_by("created_at"):
        latest[delivery.task_id] = delivery  # the newest last
    for task_id, task in ended.items():
        task.webhook_delivery = latest.get(task_id)  # the cached_property's value


def read_playlist_entries(tasks: list[Task]) -> None:
    """Reads the entries of every playlist among `tasks` in one query, for their /status
    bodies (counts, children, progress); otherwise each playlist of a page of /tasks would
    cost a query of its own."""
    playlists = {task.id: task for task in tasks if task.is_playlist}
    if not playlists:
        return
    entries = {task_id: [] for task_id in playlists}
    children = Task.objects.filter(parent_id__in=playlists).only(*PLAYLIST_ENTRY_FIELDS)
    for entry in children.order_by("position"):
        entries[entry.parent_id].append(entry)
    for task_id, playlist in playlists.items():
        playlist.playlist_entries = entries[task_id]  # the cached_property's value


# What of a task can change after it was created (the rest are its parameters, which a
# retry keeps): a digest of these, for the page's rows, is the list's ETag.
CHANGING_FIELDS = (
    "id", "status", "title", "file_name", "error", "error_detail", "cancelled",
    "downloaded_bytes", "total_bytes", "speed", "eta", "started_at", "finished_at",
    "api_key__name", "webhook_url",
)  # fmt: skip


def task_list_version(api_key_id: int | None, filters: tuple, limit: int, after=None) -> str:
    """A digest that changes whenever task_list's page would read differently: one query
    of a few columns, no serializing, so an unchanged page (a 304) costs little. The
    state of each task's latest webhook delivery is part of it (`webhook` in /status),
    and so are the entries of its playlists (their counts, children and progress), which
    need not be on the same page (`?task_type=get_playlist`), an entry's playlist's end
    and TASK_CLEANUP_TIME (`expires_at`).

    Its queries are compiled once per page and kept (page_version_query,
    entries_version_query): a list is polled with the same page again and again, and the
    ORM spends longer building these queries than the database spends running them
    (bench/profile_status.py --target tasks-304).
    Their rows are hashed as the database returns them: the repr of tuples of str, int,
    float, bool and None is the same in every process (hash() is not), and BLAKE2b with
    it takes half the time of json.dumps and SHA-256."""
    rows = query_rows(page_version_query(api_key_id, filters, limit, after))
    playlists = tuple(row[0] for row in rows if row[1] == TaskType.GET_PLAYLIST)
    if playlists:
        rows.append(query_rows(entries_version_query(playlists)))
    digested = repr((rows, settings.TASK_CLEANUP_TIME)).encode()
    return hashlib.blake2b(digested, digest_size=16).hexdigest()


def query_rows(query: tuple[str, tuple]) -> list:
    sql, parameters = query
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


@functools.lru_cache(maxsize=256)
def entries_version_query(playlist_ids: tuple) -> tuple[str, tuple]:
    """(SQL, parameters) of task_list_version's query of its playlists' entries."""
    queryset = Task.objects.filter(parent_id__in=playlist_ids)
    return (
        queryset.order_by("parent_id", "position")
        .values_list(*PLAYLIST_ENTRY_FIELDS)
        .query.sql_with_params()
    )


@functools.lru_cache(maxsize=256)
def page_version_query(
    api_key_id: int | None, filters: tuple, limit: int, after
) -> tuple[str, tuple]:
    """(SQL, parameters) of task_list_version's query of the page's rows, id and
    task_type first."""
    # A key's own page does not show its name: the join to read it is made for `all`
    # only, where a rename must change the page.
    fields = (
        CHANGING_FIELDS
        if api_key_id is None
        else tuple(field for field in CHANGING_FIELDS if field != "api_key__name")
    )
    # Of every task, not only those with a webhook_url of their own: a key's default
    # webhook URL also makes deliveries. The latest one's state and attempts in one
    # subquery (two cost a search and a sort each, per row).
    latest = WebhookDelivery.objects.filter(task_id=OuterRef("id")).order_by("-created_at")
    delivery = Concat("state", Value(":"), Cast("attempts", CharField()), output_field=CharField())
    queryset = _task_page(api_key_id, filters, limit, after).annotate(
        webhook=Subquery(latest.annotate(shown=delivery).values("shown")[:1]),
        # As the database stores them, not turned into datetimes: the digest needs
        # their text alone, and parsing them was a fifth of the query's time.
        started_text=Cast("started_at", TextField()),
        finished_text=Cast("finished_at", TextField()),
        playlist_finished_text=Cast("parent__finished_at", TextField()),  # its expires_at
    )
    kept = [field for field in fields if field not in ("started_at", "finished_at")]
    texts = ("started_text", "finished_text", "playlist_finished_text")
    columns = ("id", "task_type", *kept[1:], *texts, "webhook")
    return queryset.values_list(*columns).query.sql_with_params()
