"""`GET /tasks` off Django's request cycle, by X-API-Key or the web page's session, and
its long poll `?wait=S` with If-None-Match (the web page's refresh loop)."""

from functools import lru_cache

from django.conf import settings
from rest_framework.exceptions import ValidationError

from downloads_app import serializers
from downloads_app.fast_routes.rows import key_by_secret
from downloads_app.fast_routes.sessions import session_api_key, session_headers, session_id
from downloads_app.listing import every_key_list_version, key_list_versions, task_list_page
from keys_app.authentication import HEADER
from ytdlphost import fast_path
from ytdlphost.validation import validated

# What a list of every key's tasks (`all=true`) waits on, beside the keys' ids.
EVERY_KEY = "every key"


def task_list_answer(request: fast_path.FastRequest) -> fast_path.Answer | None:
    """With an X-API-Key (else the web page's signed-in session, as the view's
    authentication classes take them), a valid query and, for `all=true`, a key holding
    get_keys: TaskListView's answer (task_list_page: a 304 on a matching If-None-Match,
    else the page). Anything else (no key, a wrong one, a bad query, `all` refused) is
    left to the view, so its errors stay the view's."""
    if not fast_path.accepts_json(request):
        return None
    query = valid_query(tuple(sorted(request.query.items())))
    if query is None:
        return None
    secret = request.headers.get(HEADER.lower())
    api_key = key_by_secret(secret) if secret else session_api_key(request)
    if api_key is None or (query["all"] and not api_key.sees_every_task):
        return None
    api_key.touch()
    etag, body = task_list_page(api_key, query, request.headers.get("if-none-match"))
    extra = [(b"etag", etag.encode()), *(() if secret else session_headers())]
    if body is None:  # DRF renders no body, and so names no type, for a 304
        return fast_path.Answer(304, b"", extra, api_key_id=api_key.pk)
    headers = [*fast_path.json_headers(), *extra]
    return fast_path.Answer(200, body, headers, api_key_id=api_key.pk)


@lru_cache(maxsize=256)
def valid_query(items: tuple) -> dict | None:
    """The validated query of these (name, value) pairs, or None when the view would
    refuse it. Kept: a poller sends the same query each time, and validating it builds a
    serializer."""
    try:
        return dict(validated(serializers.TaskListQuery, dict(items)))
    except ValidationError:
        return None


class TaskListWatch:
    """The check of the /tasks poller: of the lists waited on (a key's id, or EVERY_KEY),
    those whose tasks' change signal (listing.key_list_versions, the signal the ETag is
    made of) changed since its last check, or that it has not seen before (it has
    nothing to compare them with). A change of one key's tasks wakes only that key's
    lists, and those of every key."""

    def __init__(self):
        # Kept for every key ever waited on (a few dozen), not only those waited on now:
        # a waiter between two of its waits is not in the poller's keys, and forgetting
        # its key would wake it again for nothing.
        self.last = {}

    def __call__(self, keys: set) -> set:
        current = key_list_versions(keys - {EVERY_KEY})
        if EVERY_KEY in keys:
            current[EVERY_KEY] = every_key_list_version()
        changed = {key for key in keys if key not in self.last or self.last[key] != current[key]}
        self.last.update(current)
        return changed


def watch_task_list(request, answer: fast_path.Answer):
    """The poller's future for what this list shows: its key's tasks, or every key's."""
    query = valid_query(tuple(sorted(request.query.items())))
    every_key = answer.api_key_id is None or query is None or query["all"]
    return task_list_poller.watch(EVERY_KEY if every_key else answer.api_key_id)


def list_unchanged_ended(request, answer: fast_path.Answer) -> bool:
    # Waiting only makes sense on an If-None-Match that still matches (a 304).
    return answer.status != 304 or "if-none-match" not in request.headers


def max_waiters() -> int:
    return settings.MAX_TASK_LIST_WAITERS


def task_list_caller(request) -> str | None:
    """The credential a list's request came with, as the view's authentication classes
    take them: its X-API-Key, else its session id."""
    secret = request.headers.get(HEADER.lower())
    return secret or session_id(request)


task_list_poller = fast_path.Poller(TaskListWatch())
