"""`GET /tasks` off Django's request cycle, and its long poll `?wait=S` with
If-None-Match (the web page's refresh loop)."""

from functools import lru_cache

from django.db.models import Count, Max, Sum
from django.db.models.functions import Length
from rest_framework.exceptions import ValidationError

from downloads_app import serializers
from downloads_app.fast_routes.rows import key_by_secret
from downloads_app.models import Task, WebhookDelivery
from downloads_app.views import task_list_page
from keys_app.authentication import HEADER
from ytdlphost import fast_path
from ytdlphost.validation import validated

TASK_LIST = "tasks"
# A list's change that its cheap check below cannot see (none is known) is still found
# by evaluating the page again this often.
TASK_LIST_RECHECK = 5.0


def task_list_answer(request: fast_path.FastRequest) -> fast_path.Answer | None:
    """With an X-API-Key, a valid query and, for `all=true`, a key holding get_keys:
    TaskListView's answer (task_list_page: a 304 on a matching If-None-Match, else the
    page). Anything else (no key, a wrong one, a bad query, `all` refused) is left to the
    view, so its errors stay the view's."""
    secret = request.headers.get(HEADER.lower())
    if not secret or not fast_path.accepts_json(request):
        return None
    query = valid_query(tuple(sorted(request.query.items())))
    if query is None:
        return None
    api_key = key_by_secret(secret)
    if api_key is None or (query["all"] and not api_key.allows("get_keys")):
        return None
    api_key.touch()
    etag, body = task_list_page(api_key, query, request.headers.get("if-none-match"))
    if body is None:  # DRF renders no body, and so names no type, for a 304
        headers = [fast_path.ALLOW_HEADER, *fast_path.MIDDLEWARE_HEADERS]
        return fast_path.Answer(304, b"", [*headers, (b"etag", etag.encode())])
    return fast_path.Answer(200, body, [*fast_path.API_HEADERS, (b"etag", etag.encode())])


@lru_cache(maxsize=256)
def valid_query(items: tuple) -> dict | None:
    """The validated query of these (name, value) pairs, or None when the view would
    refuse it. Kept: a poller sends the same query each time, and validating it builds a
    serializer."""
    try:
        return dict(validated(serializers.TaskListQuery, dict(items)))
    except ValidationError:
        return None


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


task_list_poller = fast_path.Poller(TaskTableWatch())
