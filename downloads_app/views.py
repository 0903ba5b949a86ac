from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from downloads_app import (
    lifecycle,
    maintenance,
    presets,
    quotas,
    rate_limit,
    schema,
    serializers,
)
from downloads_app.listing import task_list_page
from downloads_app.models import Task, TaskTombstone
from ytdlphost.schema import BODY_ERRORS, error_responses
from ytdlphost.validation import validated

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    required=True,
    response=[429],
    description="Seconds until the key may create a task again.",
)
# The IETF RateLimit header fields, on every answer of a task-creating endpoint that got
# as far as the rate limit (rate_limit.WindowState.headers), for a key that has a limit.
RATE_LIMIT_HEADERS = [
    OpenApiParameter(
        name,
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        required=False,
        response=[200, 429],
        description=f"{description} Absent for a key with no request limit.",
    )
    for name, description in (
        ("RateLimit-Limit", "Task-creating requests the key may make per window."),
        ("RateLimit-Remaining", "Of those, how many are left in the current window."),
        (
            "RateLimit-Reset",
            "Seconds until one more request is available again (the oldest request that "
            "counts leaves the sliding window); 0 when none counts.",
        ),
    )
]
# The byte quota's headers (quotas.allowance_headers), of whichever of the key's and the
# server's quota leaves the key the least; absent when neither applies.
QUOTA_HEADERS = [
    OpenApiParameter(
        name,
        OpenApiTypes.STR if name.endswith("Scope") else OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        required=False,
        response=[200, 429],
        description=f"{description} Absent when neither the key nor the server has a quota.",
    )
    for name, description in (
        ("X-Quota-Bytes-Limit", "Bytes per QUOTA_WINDOW of the quota that leaves the least."),
        ("X-Quota-Bytes-Used", "Bytes written in the window plus those reserved."),
        ("X-Quota-Bytes-Remaining", "Bytes left now."),
        ("X-Quota-Bytes-Reset", "Seconds until more is left; 0 when nothing counts."),
        ("X-Quota-Bytes-Scope", "`key` (its quota_bytes) or `server` (TOTAL_QUOTA_BYTES)."),
    )
]


def task_endpoint(input_serializer, summary: str, description: str = ""):
    """The schema of a task-creating endpoint (a class decorator)."""
    permission = input_serializer.task_type.value
    return extend_schema_view(
        post=extend_schema(
            operation_id=permission,
            summary=summary,
            description=description
            or f"Needs `{permission}`. Counts against the key's rate limit and its byte "
            "quotas (a size known from the key's get_info of the URL is reserved; 429 when "
            "it does not fit, or nothing is left).",
            tags=["tasks"],
            request=input_serializer,
            parameters=[RETRY_AFTER, *RATE_LIMIT_HEADERS, *QUOTA_HEADERS],
            responses={
                200: schema.TaskCreatedOutput,
                **error_responses(*BODY_ERRORS, 401, 403, 429),
            },
        )
    )


class CreateTaskView(APIView):
    """POST /<task type>: validate, create the task, answer with its id."""

    input_serializer: type[serializers.TaskInput]

    @property
    def required_permission(self):
        # Each task type has the permission of the same name.
        return self.input_serializer.task_type.value

    def request_body(self):
        """The body with its preset applied (presets.with_preset), worked out once: a
        playlist's permission depends on it."""
        if not hasattr(self, "_request_body"):
            request, task_type = self.request, self.input_serializer.task_type
            self._request_body = presets.with_preset(request.user, task_type, request.data)
        return self._request_body

    def post(self, request):
        # The key: a clip is checked against the length of media it looked up already.
        data = presets.validated_request(
            self.input_serializer, request.data, self.request_body(), {"api_key": request.user}
        )
        task = lifecycle.task_create(
            request.user, self.input_serializer.task_type, serializers.task_fields(data)
        )
        headers = rate_limit.window_state(request.user).headers()
        headers.update(quotas.headers(request.user))
        return Response({"status": task.status, "task_id": task.id}, headers=headers)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, rate_limit.RateLimited):
            for name, value in exc.state.headers().items():
                response[name] = value
        if isinstance(exc, quotas.QuotaExceeded):
            for name, value in quotas.allowance_headers(exc.allowance).items():
                response[name] = value
        return response


@task_endpoint(serializers.GetVideoInput, "Download a video (or a clip of it)")
class GetVideoView(CreateTaskView):
    input_serializer = serializers.GetVideoInput


@task_endpoint(serializers.GetAudioInput, "Download the audio (or a clip of it)")
class GetAudioView(CreateTaskView):
    input_serializer = serializers.GetAudioInput


@task_endpoint(serializers.GetLiveVideoInput, "Record a live stream's video")
class GetLiveVideoView(CreateTaskView):
    input_serializer = serializers.GetLiveVideoInput


@task_endpoint(serializers.GetLiveAudioInput, "Record a live stream's audio")
class GetLiveAudioView(CreateTaskView):
    input_serializer = serializers.GetLiveAudioInput


@task_endpoint(serializers.GetInfoInput, "Extract the metadata (info.json)")
class GetInfoView(CreateTaskView):
    input_serializer = serializers.GetInfoInput


@task_endpoint(
    serializers.GetPlaylistInput,
    "Download every entry of a playlist",
    "Needs the permission of `type` (`get_video` or `get_audio`). A worker lists the "
    "playlist (flat: no entry is resolved), at most PLAYLIST_MAX_ITEMS entries, and each "
    "entry becomes a task of that type with these options, counted by the rate limit as "
    "one request each (a playlist larger than what the key may start now fails whole, "
    "saying how many it may). Its /status shows `counts`, `children` and the progress of "
    "them all; it completes when every entry has ended (`error` only when all failed), "
    "and its `file` is a ZIP of the entries' files. Cancel, retry and delete_task on it "
    "act on its entries too.",
)
class GetPlaylistView(CreateTaskView):
    input_serializer = serializers.GetPlaylistInput

    @property
    def required_permission(self):
        # The entries' type's: a playlist is that many tasks of it. Its preset may give
        # the type, so it is applied first (an unknown preset is refused there); read
        # once the key is known (HasEndpointPermission answers 401 before).
        body = self.request_body()
        return presets.playlist_permission(body.get("type") if isinstance(body, dict) else None)


class MeView(APIView):
    required_permission = None  # any valid key may ask about itself

    @extend_schema(
        operation_id="me",
        summary="The key itself: permissions, rate limit and byte quotas",
        description="Any valid key. Its name, permissions, request limit, what is left of it "
        "in the current window and when more becomes available; the same of its byte "
        "quota and the server's (`quota`). Never the secret.",
        tags=["keys"],
        responses={200: schema.MeOutput, **error_responses(401)},
    )
    def get(self, request):
        api_key, now = request.user, timezone.now()
        state = rate_limit.window_state(api_key, now)
        me = {
            "name": api_key.name,
            "permissions": api_key.permissions,
            "request_limit": state.limit,
            "remaining": state.remaining,
            "reset": state.reset,
            "reset_at": state.reset_at(now),
            "quota": {"window": settings.QUOTA_WINDOW, "key": None, "server": None},
        }
        for allowance in quotas.allowances(api_key, now):
            me["quota"][allowance.scope] = allowance.as_dict()
        return Response(schema.MeOutput(me).data)


EXPIRED_DESCRIPTION = (
    "The task finished more than TASK_CLEANUP_TIME minutes ago and was removed with its "
    "file (remembered for TASK_TOMBSTONE_DAYS)."
)


class TaskExpired(exceptions.APIException):
    status_code = 410

    def __init__(self):
        super().__init__(maintenance.expired_message())


def visible_task(api_key, task_id) -> Task:
    """The task, when this key may see it: its creator, or a key holding get_keys.
    Anyone else gets 404, as if the task did not exist; a task that cleanup removed is
    410 to those who could see it."""
    try:  # get(): no ORDER BY to build for a primary key (every /status runs this)
        task = Task.objects.select_related("api_key").get(pk=task_id)
    except Task.DoesNotExist:
        task = None
    if task is None:
        tombstone = TaskTombstone.objects.filter(pk=task_id).first()
        if tombstone is not None and api_key.may_see(tombstone):
            raise TaskExpired()
    if task is None or not api_key.may_see(task):
        raise exceptions.NotFound("Task not found")
    return task


def task_to_act_on(api_key, task_id) -> Task:
    """The task, when this key may cancel, retry or delete it: one it sees (visible_task)
    of a key it covers (APIKey.powers_beyond, the rule of the key endpoints). get_keys
    shows every task, but acting on a stronger key's would be a way to its power, or to
    take its work away; 403, since the task is no secret to a key that sees it."""
    task = visible_task(api_key, task_id)
    if beyond := api_key.powers_beyond(task.api_key):
        raise exceptions.PermissionDenied(
            f"Cannot act on a task of the key '{task.api_key.name}': it has {'; '.join(beyond)}"
        )
    return task


class StatusView(APIView):
    required_permission = None  # any valid key; ownership is checked per task

    @extend_schema(
        operation_id="status",
        summary="A task's status",
        description="Any valid key; only the key that created the task, or a key holding "
        "`get_keys`, sees it. With `wait`, a long poll: one request instead of a loop of "
        "them, for a client that only needs the end.",
        tags=["tasks"],
        parameters=[
            OpenApiParameter(
                "wait",
                float,
                OpenApiParameter.QUERY,
                description=serializers.WAIT_HELP.format(
                    what="the task has finished (`completed` or `error`)",
                    otherwise="its current status",
                ),
            )
        ],
        responses={
            200: schema.TaskStatusOutput,
            **error_responses(
                400,
                401,
                404,
                410,
                e400="`wait` is not a number of seconds in (0, 60].",
                e404="No such task, or a task of another key.",
                e410=EXPIRED_DESCRIPTION,
            ),
        },
    )
    def get(self, request, task_id):
        task = visible_task(request.user, task_id)
        return Response(serializers.task_status(task))


NOT_VISIBLE = "No such task, or a task of another key."
NOT_COVERED = "A task of a key with powers beyond this key's own (`get_keys` only sees it)."


ALL_REFUSED = "`all=true` without `get_keys`."
# Answered by the long poll (ytdlphost/fast_path.py), never by the view itself.
TOO_MANY_WAITING = (
    "With `wait`: the key, or the session, already has `MAX_TASK_LIST_WAITERS` requests "
    "waiting; Retry-After says when to try again."
)


class TaskListView(APIView):
    required_permission = None  # any valid key lists its own tasks

    @extend_schema(
        operation_id="tasks",
        summary="The key's tasks, newest first",
        description="Any valid key lists its own tasks, each in its /status shape. `all=true` "
        "(needs `get_keys`) lists every key's, each with `key_name`. Pages follow `next` as "
        "`cursor`; they stay stable while tasks are created. Every answer has an `ETag`; "
        "sent back as `If-None-Match`, an unchanged page is a 304 without a body, so "
        "polling the list costs little while nothing happens.",
        tags=["tasks"],
        parameters=[
            serializers.TaskListQuery,
            OpenApiParameter(
                "If-None-Match",
                str,
                OpenApiParameter.HEADER,
                description="The `ETag` of an earlier answer: 304 when the page is unchanged.",
            ),
            OpenApiParameter(
                "ETag",
                str,
                OpenApiParameter.HEADER,
                required=True,
                response=[200, 304],
                description="Changes whenever anything in the page changes (a status, "
                "progress, a task added or removed).",
            ),
        ],
        responses={
            200: schema.TaskListOutput,
            304: OpenApiResponse(description="Unchanged since the `If-None-Match` ETag."),
            **error_responses(400, 401, 403, 429, e403=ALL_REFUSED, e429=TOO_MANY_WAITING),
        },
    )
    def get(self, request):
        query = validated(serializers.TaskListQuery, request.query_params.dict())
        if query["all"] and not request.user.sees_every_task:
            raise exceptions.PermissionDenied("Insufficient permissions")
        etag, body = task_list_page(request.user, query, request.headers.get("If-None-Match"))
        if body is None:
            return Response(status=304, headers={"ETag": etag})
        # Rendered already, as DRF's JSONRenderer renders (task_list_page).
        return HttpResponse(body, content_type="application/json", headers={"ETag": etag})


class CancelView(APIView):
    required_permission = None  # ownership is checked per task, as for /status

    @extend_schema(
        operation_id="cancel",
        summary="Cancel a task",
        description="The task's key, or a key holding `get_keys` that covers it (holds every "
        "permission of the task's key, with a request limit no lower). A waiting task never "
        "starts; a processing one is stopped within seconds, its files removed. It ends as "
        '`status: "error"`, `error: "Cancelled"`, `cancelled: true`. With `keep: true` a live '
        "recording is instead stopped early and completed with what it has (still "
        "`processing` in this answer). Answers the task's /status body.",
        tags=["tasks"],
        request=serializers.CancelInput,
        responses={
            200: schema.TaskStatusOutput,
            **error_responses(
                *BODY_ERRORS,
                401,
                403,
                404,
                409,
                e403=NOT_COVERED,
                e404=NOT_VISIBLE,
                e409="The task has finished.",
            ),
        },
    )
    def post(self, request, task_id):
        data = validated(serializers.CancelInput, request.data)
        task_to_act_on(request.user, task_id)
        task = lifecycle.task_cancel(task_id, keep=data["keep"])
        return Response(serializers.task_status(task))


class RetryView(APIView):
    required_permission = None

    @extend_schema(
        operation_id="retry",
        summary="Run a failed or cancelled task again",
        description="The task's key, or a key holding `get_keys` that covers it, and either "
        "must hold the permission that starts the task (its type's; a playlist's entries' "
        "type's). The same id and parameters; counts against the task's key's rate limit "
        "and byte quotas like a new task. Answers the task's /status body (`waiting`).",
        tags=["tasks"],
        request=None,
        parameters=[RETRY_AFTER],
        responses={
            200: schema.TaskStatusOutput,
            **error_responses(
                401,
                403,
                404,
                409,
                429,
                e403="The key lacks the permission that starts the task, or the task is "
                "of a key with powers beyond its own.",
                e404=NOT_VISIBLE,
                e409="The task has not failed.",
            ),
        },
    )
    def post(self, request, task_id):
        task = task_to_act_on(request.user, task_id)
        # Running it again is starting it again: a key whose permission was revoked
        # starts no more downloads of that type.
        if not request.user.allows(task.starting_permission):
            raise exceptions.PermissionDenied(
                f"Insufficient permissions: needs {task.starting_permission}"
            )
        return Response(serializers.task_status(lifecycle.task_retry(task_id)))


class DeleteTaskView(APIView):
    required_permission = None

    @extend_schema(
        operation_id="delete_task",
        summary="Delete a task and its files now",
        description="The task's key, or a key holding `get_keys` that covers it. Cancels it "
        "if it has not finished, then deletes it and its files; /status and /files then "
        "answer 404.",
        tags=["tasks"],
        responses={
            200: schema.TaskDeletedOutput,
            **error_responses(401, 403, 404, e403=NOT_COVERED, e404=NOT_VISIBLE),
        },
    )
    def delete(self, request, task_id):
        task_to_act_on(request.user, task_id)
        lifecycle.task_delete(task_id)
        return Response({"message": "Task deleted", "task_id": task_id})
