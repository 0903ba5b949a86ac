"""The task endpoints' fast routes and long polls (ytdlphost/fast_path.py), registered
from DownloadsAppConfig.ready().

- `GET /status/<id>` with an X-API-Key: answered off Django's request cycle, with the
  view's own steps (the key looked up on every request, so a deleted key is refused at
  once; visible_task; the status body). Anything else (no key, a wrong one, a task the key
  may not see) is left to StatusView.
- `GET /status/<id>?wait=S`: answered when the task has finished, or after S seconds.
- `GET /tasks?wait=S` with If-None-Match: answered when the page's ETag changes (200), or
  after S seconds (304). The web page's refresh loop uses it.
"""

from functools import cache

from django.db import connection
from django.db.models import Count, Max, Sum
from django.db.models.functions import Length

from downloads_app import serializers, services
from downloads_app.models import Task, WebhookDelivery
from downloads_app.views import may_see
from keys_app import crypto
from keys_app.authentication import HEADER
from keys_app.models import APIKey
from ytdlphost import fast_path

FINISHED = ("completed", "error")
# A list's change that its cheap check below cannot see (none is known) is still found
# by evaluating the page again this often.
TASK_LIST_RECHECK = 5.0


def status_answer(request: fast_path.FastRequest) -> fast_path.Answer | None:
    secret = request.headers.get(HEADER.lower())
    if not secret:
        return None
    found = key_and_task(secret, request.path_params["task_id"])
    if found is None:
        return None
    api_key, task = found
    api_key.touch()
    return fast_path.json_answer(200, serializers.task_status(task))


@cache
def key_and_task_query() -> str:
    """The SQL of key_and_task (the key's columns, the task's, and whether the task has a
    webhook delivery), built once per process: the ORM spends ten times longer compiling
    a query than SQLite spends running it (bench/profile_status.py), and /status runs this
    on every request."""
    quote = connection.ops.quote_name
    key_columns = [field.column for field in APIKey._meta.concrete_fields]
    task_columns = [field.column for field in Task._meta.concrete_fields]
    key_table, task_table = APIKey._meta.db_table, Task._meta.db_table
    delivery_table = WebhookDelivery._meta.db_table
    columns = [f"k.{quote(column)}" for column in key_columns]
    columns += [f"t.{quote(column)}" for column in task_columns]
    # Whether the task has a webhook delivery at all: most have none, and then the
    # serializer's own query for it is skipped.
    # Only identifiers are interpolated (the models' own, quoted); values are parameters.
    columns.append(
        f"EXISTS (SELECT 1 FROM {quote(delivery_table)} d"  # noqa: S608
        f" WHERE d.{quote('task_id')} = t.{quote('id')})"
    )
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(key_table)} k"  # noqa: S608
        f" LEFT JOIN {quote(task_table)} t ON t.{quote('id')} = %s"
        f" WHERE k.{quote('key_digest')} = %s"
    )
    return sql


def key_and_task(secret: str, task_id: str) -> tuple[APIKey, Task] | None:
    """The key of this secret and the task, in one query, when the key exists and may see
    the task: what APIKey.objects.get_by_secret and views.visible_task decide, without
    building their queries on every request. None for everything else (no such key, no
    such task, a task of another key, an expired one): the view answers those, so their
    answers stay the view's."""
    with connection.cursor() as cursor:
        cursor.execute(key_and_task_query(), [task_id, crypto.digest_secret(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    key_length = len(attribute_names(APIKey))
    key_values, task_values = row[:key_length], row[key_length:-1]
    api_key = model_from_row(APIKey, key_values)
    if not crypto.digests_match(secret, api_key.key_digest) or task_values[0] is None:
        return None
    task = model_from_row(Task, task_values)
    if not may_see(api_key, task.api_key_id):
        return None
    if not row[-1]:
        task.__dict__["webhook_delivery"] = None  # the cached_property, known empty
    return api_key, task


@cache
def attribute_names(model) -> list[str]:
    """The attribute names Model.from_db takes, in the order of the query's columns."""
    return [field.attname for field in model._meta.concrete_fields]


@cache
def column_converters(model) -> list[tuple]:
    """For the model's columns whose values the ORM converts after reading them
    (timezone-aware datetimes, JSON decoded, booleans on SQLite): each one's position in
    the row and its converters, those of the backend and of the field, as the ORM's
    compiler gathers them."""
    converting = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converting.append((position, column, found))
    return converting


def model_from_row(model, values):
    values = list(values)
    for position, column, converters in column_converters(model):
        for converter in converters:
            values[position] = converter(values[position], column, connection)
    return model.from_db(connection.alias, attribute_names(model), values)


def unfinished_tasks_gone(task_ids: set) -> set:
    """Of the waited task ids, those no longer waiting or processing (finished, or
    deleted)."""
    unfinished = Task.objects.filter(pk__in=task_ids).filter(status__in=services.UNFINISHED)
    return set(task_ids) - set(unfinished.values_list("pk", flat=True))


def task_finished(request, answer: fast_path.Answer) -> bool:
    if answer.status != 200:
        return True
    body = answer.json_body()
    return not isinstance(body, dict) or body.get("status") in FINISHED


TASK_LIST = "tasks"


def task_table_fingerprint():
    """Sums that change when any task is created, deleted, moves on, progresses, gets a
    title or an error, and when a webhook delivery is made or attempted: one query each
    for the whole table, whatever the number of waiting pages."""
    tasks = Task.objects.aggregate(
        count=Count("pk"),
        created=Max("created_at"),
        started=Max("started_at"),
        finished=Max("finished_at"),
        downloaded=Sum("downloaded_bytes"),
        statuses=Sum(Length("status")),
        titles=Sum(Length("title")),
        errors=Sum(Length("error")),
    )
    deliveries = WebhookDelivery.objects.aggregate(count=Count("pk"), attempts=Sum("attempts"))
    return tuple(tasks.values()) + tuple(deliveries.values())


class TaskTableWatch:
    """The check of the /tasks poller: wakes every waiting list when the fingerprint
    changes (and on its first check, when it has nothing to compare with)."""

    def __init__(self):
        self.last = None

    def __call__(self, keys: set) -> set:
        current = task_table_fingerprint()
        changed, self.last = current != self.last, current
        return keys if changed else set()


def list_unchanged_ended(request, answer: fast_path.Answer) -> bool:
    # Waiting only makes sense on an If-None-Match that still matches (a 304).
    return answer.status != 304 or "if-none-match" not in request.headers


status_poller = fast_path.Poller(unfinished_tasks_gone)
task_list_poller = fast_path.Poller(TaskTableWatch())


def register() -> None:
    fast_path.register_fast_get("status/<segment:task_id>", status_answer)
    fast_path.register_long_poll(
        "status/<segment:task_id>",
        settled=task_finished,
        watch=lambda request: status_poller.watch(request.path_params["task_id"]),
    )
    fast_path.register_long_poll(
        "tasks",
        settled=list_unchanged_ended,
        watch=lambda request: task_list_poller.watch(TASK_LIST),
        recheck=TASK_LIST_RECHECK,
    )
