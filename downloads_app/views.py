import json

from django.conf import settings
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from downloads_app import files, info, serializers, services
from downloads_app.models import Task, TaskStatus
from ytdlphost.errors import error_response
from ytdlphost.validation import validated


class CreateTaskView(APIView):
    """POST /<task type>: validate, create the task, answer with its id."""

    input_serializer: type[serializers.TaskInput]

    def post(self, request):
        data = validated(self.input_serializer, request.data)
        task = services.task_create(
            request.user, self.input_serializer.task_type, serializers.task_fields(data)
        )
        return Response({"status": task.status, "task_id": task.id})


class GetVideoView(CreateTaskView):
    input_serializer = serializers.GetVideoInput
    required_permission = "get_video"


class GetAudioView(CreateTaskView):
    input_serializer = serializers.GetAudioInput
    required_permission = "get_audio"


class GetLiveVideoView(CreateTaskView):
    input_serializer = serializers.GetLiveVideoInput
    required_permission = "get_live_video"


class GetLiveAudioView(CreateTaskView):
    input_serializer = serializers.GetLiveAudioInput
    required_permission = "get_live_audio"


class GetInfoView(CreateTaskView):
    input_serializer = serializers.GetInfoInput
    required_permission = "get_info"


def visible_task(api_key, task_id) -> Task:
    """The task, when this key may see it: its creator, or a key holding get_keys.
    Anyone else gets 404, as if the task did not exist."""
    task = Task.objects.select_related("api_key").filter(pk=task_id).first()
    if task is None or not (task.api_key_id == api_key.pk or api_key.allows("get_keys")):
        raise exceptions.NotFound("Task not found")
    return task


class StatusView(APIView):
    required_permission = None  # any valid key; ownership is checked per task

    def get(self, request, task_id):
        task = visible_task(request.user, task_id)
        return Response(serializers.task_status(task))


class FileView(APIView):
    """GET /files/<task_id>/<name>: the result of a completed task.

    A capability URL: the unguessable task id is the secret, so no key is needed unless
    FILES_REQUIRE_KEY is set. info.json can be filtered by bare query parameter names.
    """

    def get_permissions(self):
        return super().get_permissions() if settings.FILES_REQUIRE_KEY else []

    def get_authenticators(self):
        return super().get_authenticators() if settings.FILES_REQUIRE_KEY else []

    def get(self, request, task_id, name):
        if settings.FILES_REQUIRE_KEY:
            task = visible_task(request.user, task_id)
        else:
            task = Task.objects.filter(pk=task_id).first()
        if task is None or task.status != TaskStatus.COMPLETED or name != task.file_name:
            return error_response("File not found", 404)
        directory = services.task_dir(task.id)
        path = directory / task.file_name
        if not files.is_inside(path, directory):
            return error_response("File not found", 404)
        if task.file_name == "info.json" and request.GET:
            return self.info_fields(path, list(request.GET.keys()))
        return files.file_response(request, path)

    def info_fields(self, path, names):
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        selected = info.select_fields(document, names)
        if not selected:
            return error_response(f"No such fields: {', '.join(names)}", 404)
        return JsonResponse(selected, json_dumps_params={"ensure_ascii": False})
