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

from django.db.models import Count, Max, Sum
from django.db.models.functions import Length
from rest_framework.exceptions import APIException

from downloads_app import serializers, services
from downloads_app.models import Task, WebhookDelivery
from downloads_app.views import visible_task
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
    api_key = APIKey.objects.get_by_secret(secret)
    if api_key is None:
        return None
    try:
        task = visible_task(api_key, request.path_params["task_id"])
    except APIException:  # 404 or 410: StatusView says which
        return None
    api_key.touch()
    return fast_path.json_answer(200, serializers.task_status(task))


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
