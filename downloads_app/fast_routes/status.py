"""`GET /status/<id>` off Django's request cycle, and its long poll `?wait=S`."""

from downloads_app import lifecycle, serializers
from downloads_app.fast_routes.rows import key_and_task
from downloads_app.models import Task
from keys_app.authentication import HEADER
from ytdlphost import fast_path

FINISHED = ("completed", "error")


def status_answer(request: fast_path.FastRequest) -> fast_path.Answer | None:
    """With an X-API-Key: the view's own steps (the key looked up on every request, so a
    deleted key is refused at once; APIKey.may_see; the status body). Anything else (no
    key, a wrong one, a task the key may not see) is left to StatusView."""
    secret = request.headers.get(HEADER.lower())
    if not secret or not fast_path.accepts_json(request):
        return None
    found = key_and_task(secret, request.path_params["task_id"])
    if found is None:
        return None
    api_key, task = found
    api_key.touch()
    return fast_path.json_answer(200, serializers.task_status(task))


def unfinished_tasks_gone(task_ids: set) -> set:
    """Of the waited task ids, those no longer waiting or processing (finished, or
    deleted)."""
    unfinished = Task.objects.filter(pk__in=task_ids).filter(status__in=lifecycle.UNFINISHED)
    return set(task_ids) - set(unfinished.values_list("pk", flat=True))


def task_finished(request, answer: fast_path.Answer) -> bool:
    if answer.status != 200:
        return True
    body = answer.json_body()
    return not isinstance(body, dict) or body.get("status") in FINISHED


status_poller = fast_path.Poller(unfinished_tasks_gone)
