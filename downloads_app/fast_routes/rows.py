"""The fast routes' one query per request: a key and a task (or a task alone) read with
SQL built once per process, and turned into model instances as the ORM would."""

from functools import cache

from django.db import connection

from downloads_app.models import Task, WebhookDelivery
from keys_app import crypto
from keys_app.models import APIKey


@cache
def key_and_task_query(with_key: bool = True, with_task: bool = True) -> str:
    """The SQL of key_and_task: the key's columns, the task's, and whether the task has a
    webhook delivery; with_key=False, of task_by_id (the task's alone); with_task=False,
    of key_by_secret (the key's alone). Built once per process: the ORM spends ten times
    longer compiling a query than SQLite spends running it (bench/profile_status.py), and
    /status runs this on every request."""
    quote = connection.ops.quote_name
    key_table, task_table = APIKey._meta.db_table, Task._meta.db_table
    delivery_table = WebhookDelivery._meta.db_table
    columns = [f"k.{quote(column)}" for column in column_names(APIKey)] if with_key else []
    if with_task:
        columns += [f"t.{quote(column)}" for column in column_names(Task)]
        # Whether the task has a webhook delivery at all: most have none, and then the
        # serializer's own query for it is skipped.
        # Only identifiers are interpolated (the models' own, quoted); values are
        # parameters.
        columns.append(
            f"EXISTS (SELECT 1 FROM {quote(delivery_table)} d"  # noqa: S608
            f" WHERE d.{quote('task_id')} = t.{quote('id')})"
        )
    select = f"SELECT {', '.join(columns)}"
    if not with_key:
        return f"{select} FROM {quote(task_table)} t WHERE t.{quote('id')} = %s"
    key_where = f" WHERE k.{quote('key_digest')} = %s"
    if not with_task:
        return f"{select} FROM {quote(key_table)} k{key_where}"
    return (
        f"{select} FROM {quote(key_table)} k"
        f" LEFT JOIN {quote(task_table)} t ON t.{quote('id')} = %s{key_where}"
    )


def key_by_secret(secret: str) -> APIKey | None:
    """APIKey.objects.get_by_secret, in the precompiled query."""
    with connection.cursor() as cursor:
        cursor.execute(key_and_task_query(with_task=False), [crypto.digest_secret(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = model_from_row(APIKey, row)
    return api_key if crypto.digests_match(secret, api_key.key_digest) else None


def key_and_task(secret: str, task_id: str) -> tuple[APIKey, Task] | None:
    """The key of this secret and the task, in one query, when the key exists and may see
    the task: what APIKey.objects.get_by_secret and APIKey.may_see decide, without
    building their queries on every request. None for everything else (no such key, no
    such task, a task of another key, an expired one): the view answers those, so their
    answers stay the view's."""
    with connection.cursor() as cursor:
        cursor.execute(key_and_task_query(), [task_id, crypto.digest_secret(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    key_length = len(attribute_names(APIKey))
    key_values, task_values = row[:key_length], row[key_length:]
    api_key = model_from_row(APIKey, key_values)
    if not crypto.digests_match(secret, api_key.key_digest) or task_values[0] is None:
        return None
    task = task_from_row(task_values)
    if not api_key.may_see(task):
        return None
    return api_key, task


def task_by_id(task_id: str) -> Task | None:
    """The task, or None when there is none (the view then tells an expired task from an
    unknown one)."""
    with connection.cursor() as cursor:
        cursor.execute(key_and_task_query(with_key=False), [task_id])
        row = cursor.fetchone()
    return None if row is None else task_from_row(row)


def task_from_row(values) -> Task:
    """The task of a row of key_and_task_query: its columns, then whether it has a webhook
    delivery."""
    task = model_from_row(Task, values[:-1])
    if not values[-1]:
        task.__dict__["webhook_delivery"] = None  # the cached_property, known empty
    return task


@cache
def column_names(model) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


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
