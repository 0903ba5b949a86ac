"""The downloads app's fast routes and long polls (ytdlphost/fast_path.py), registered
from DownloadsAppConfig.ready().

- `GET /status/<id>` with an X-API-Key (status.py), and `?wait=S`: answered when the task
  has finished, or after S seconds.
- `GET /files/<id>/<name>`, whole, of a small file (files.py).
- `GET /tasks` with an X-API-Key or the web page's session (tasks.py), and `?wait=S`
  with If-None-Match: answered when the page's ETag changes (200), or after S seconds
  (304); woken by a change of its key's tasks only, and at most MAX_TASK_LIST_WAITERS
  of a key, and of a session, at once per process. The web page's refresh loop uses it.

Each answers exactly what its view answers, and leaves every other case to the view.
"""

from downloads_app.fast_routes import files, status, tasks
from ytdlphost import fast_path


def register() -> None:
    fast_path.register_fast_get("status/<segment:task_id>", status.status_answer)
    fast_path.register_fast_get("files/<segment:task_id>/<segment:name>", files.file_answer)
    fast_path.register_fast_get("tasks", tasks.task_list_answer)
    fast_path.register_long_poll(
        "status/<segment:task_id>",
        settled=status.task_finished,
        watch=lambda request, answer: status.status_poller.watch(request.path_params["task_id"]),
    )
    fast_path.register_long_poll(
        "tasks",
        settled=tasks.list_unchanged_ended,
        watch=tasks.watch_task_list,
        max_waiters=tasks.max_waiters,
        caller=tasks.task_list_caller,
    )
