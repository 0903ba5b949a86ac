"""How a page of tasks is listed and rendered (GET /tasks), for its view and its fast
route alike: the page, its ETag and what wakes its long poll, the last two read from one
change signal (Task.listed_version, models.LISTED_FIELDS)."""

import functools
import hashlib

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils.http import parse_etags
from rest_framework.renderers import JSONRenderer

from downloads_app import schema, serializers
from downloads_app.lifecycle import UNFINISHED
from downloads_app.models import PLAYLIST_ENTRY_FIELDS, Task, TaskType, WebhookDelivery

# The query's fields that choose which of the key's tasks a page lists.
LIST_FILTERS = ("status", "task_type", "subscription")


def task_list_page(user, query: dict, if_none_match: str | None) -> tuple[str, bytes | None]:
    """(ETag, JSON body) of the /tasks page `query` (validated, `all` allowed) asks
    `user` for; the body is None when `if_none_match` names the ETag (a 304). Checked before the
    page is read and serialized: polling an unchanged list (the web page does) is one
    small query."""
    filters = tuple(sorted((name, query[name]) for name in LIST_FILTERS if name in query))
    api_key_id, limit, after = (
        None if query["all"] else user.pk,
        query["limit"],
        query.get("cursor"),
    )
    etag = f'"{task_list_version(api_key_id, filters, limit, after)}"'
    # If-None-Match compares weakly (RFC 9110, 13.1.2): W/"x" matches "x".
    if etag in (tag.removeprefix("W/") for tag in parse_etags(if_none_match or "")):
        return etag, None
    return etag, rendered_task_page(api_key_id, filters, limit, after, etag)


# A few pages per key for a few dozen keys; a page of 50 is about 30 KB.
@functools.lru_cache(maxsize=128)
def rendered_task_page(api_key_id: int | None, filters: tuple, limit: int, after, etag: str):
    """The JSON body of a /tasks page, kept per process under its `etag` (least recently
    used first out). The ETag is a digest of everything a page shows
    (task_list_version), so a body kept under it is the body the page would be
    serialized to again: a repeated GET of an unchanged page (clients polling the list)
    costs the ETag's query, not the page's read and serializing. `etag` is read only as
    part of the cache's key."""
    tasks = task_list(api_key_id, filters, limit, after)
    page = tasks[:limit]
    entries = schema.TaskListEntryOutput(
        page, many=True, context={"with_key_name": api_key_id is None}
    ).data
    more = len(tasks) > limit
    next_cursor = serializers.task_cursor(page[-1]) if more else None
    return JSONRenderer().render({"tasks": entries, "next": next_cursor})


def _task_page(api_key_id: int | None, filters, limit: int, after=None):
    """The page's tasks: of the key `api_key_id` (every key's when None), matching
    `filters` (a dict or its items)."""
    tasks = Task.objects.filter(**dict(filters))
    if api_key_id is not None:
        tasks = tasks.filter(api_key_id=api_key_id)
    return newest_first_page(tasks, limit, after)


def newest_first_page(rows, limit: int, after=None):
    """`limit` + 1 of `rows` (tasks, subscriptions: a created_at and an id), newest first,
    after the cursor position `after` (created_at, id; serializers.task_cursor)."""
    if after is not None:
        created_at, row_id = after
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id))
    return rows.order_by("-created_at", "-id")[: limit + 1]


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


def task_list_version(api_key_id: int | None, filters: tuple, limit: int, after=None) -> str:
    """A digest that changes whenever task_list's page would read differently, made of
    the tasks' change signal alone (Task.listed_version, new at every write of what a list
    shows): the page's tasks in order, each with its playlist's (an entry's expires_at is
    its playlist's end), and the count and sum of the versions of the entries of its
    playlists (their counts, children and progress), which need not be on the same page
    (`?task_type=get_playlist`); and TASK_CLEANUP_TIME (`expires_at`). One small query,
    no serializing, so an unchanged page (a 304) costs little.

    Its queries are compiled once per page and kept (page_version_query,
    entries_version_query): a list is polled with the same page again and again, and the
    ORM spends longer building these queries than the database spends running them
    (bench/profile_status.py --target tasks-304).
    Their rows are hashed as the database returns them: the repr of tuples of str, int and
    Decimal (PostgreSQL's sums) is the same in every process (hash() is not)."""
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


# The count and the sum of the versions of a set of tasks: changed by any write of what a
# list shows of one of them, by a task created or deleted (a sum of random versions cannot
# cancel out but by a chance of 2**-40: models.new_listed_version).
VERSION_SUMS = {"tasks": Count("*"), "versions": Sum("listed_version")}


@functools.lru_cache(maxsize=256)
def entries_version_query(playlist_ids: tuple) -> tuple[str, tuple]:
    """(SQL, parameters) of task_list_version's query of its playlists' entries."""
    entries = Task.objects.filter(parent_id__in=playlist_ids).order_by("parent_id")
    return (
        entries.values("parent_id")
        .annotate(**VERSION_SUMS)
        .values_list("parent_id", *VERSION_SUMS)
        .query.sql_with_params()
    )


@functools.lru_cache(maxsize=256)
def page_version_query(
    api_key_id: int | None, filters: tuple, limit: int, after
) -> tuple[str, tuple]:
    """(SQL, parameters) of task_list_version's query of the page's rows, id and
    task_type first."""
    page = _task_page(api_key_id, filters, limit, after)
    columns = ("id", "task_type", "listed_version", "parent__listed_version")
    return page.values_list(*columns).query.sql_with_params()


def key_list_versions(api_key_ids: set) -> dict:
    """The VERSION_SUMS of each key's tasks, in one query for all the keys (a list of a
    key's tasks changes only when they change): what wakes a long poll of /tasks."""
    found = dict.fromkeys(api_key_ids, (0, None))
    rows = (
        Task.objects.filter(api_key_id__in=api_key_ids)
        .order_by()  # the model's ordering would split the groups
        .values("api_key_id")
        .annotate(**VERSION_SUMS)
        .values_list("api_key_id", *VERSION_SUMS)
    )
    for api_key_id, *sums in rows:
        found[api_key_id] = tuple(sums)
    return found


def every_key_list_version() -> tuple:
    """The VERSION_SUMS of every key's tasks: what a list of all of them (`all=true`)
    shows changes only when these do."""
    return tuple(Task.objects.order_by().aggregate(**VERSION_SUMS).values())
