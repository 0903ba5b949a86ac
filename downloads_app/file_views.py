"""GET /files/<task_id>/<name>: a completed task's file, the files published beside it,
and a playlist's ZIP, from the disk or the bucket (storage.py); its common case is also
answered off Django's request cycle (fast_routes/files.py), and answers alike."""

from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from downloads_app import directories, files, info, storage
from downloads_app.models import EXTRA_SUBTITLES, Task, TaskStatus, TaskTombstone
from downloads_app.views import EXPIRED_DESCRIPTION, TaskExpired, visible_task
from ytdlphost.errors import error_response
from ytdlphost.schema import error_responses


class FileView(APIView):
    """GET /files/<task_id>/<name>: the result of a completed task, or one of the files
    published beside it (its extra_files: subtitles, the thumbnail).

    A capability URL: the unguessable task id is the secret, so no key is needed unless
    FILES_REQUIRE_KEY is set. info.json can be filtered by bare query parameter names.
    """

    def get_permissions(self):
        return super().get_permissions() if settings.FILES_REQUIRE_KEY else []

    def get_authenticators(self):
        return super().get_authenticators() if settings.FILES_REQUIRE_KEY else []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        files.never_kept(response)
        return response

    @extend_schema(
        operation_id="file",
        summary="A completed task's file, or one of its extra files",
        description="No key needed unless FILES_REQUIRE_KEY is set: the task id is the secret "
        "of this URL. `name` is the task's `file`, or the name of one of its `extra_files` "
        "(subtitles, thumbnail), served alike. Streamed with Range support, or with "
        "STORAGE=s3 a redirect to the bucket (302). For info.json, "
        "bare query parameter names select top-level fields (`?title&duration`), and those "
        "the document lacks are listed in `missing`; `?qualities` summarizes the formats.",
        tags=["files"],
        parameters=[
            OpenApiParameter(
                "Range",
                str,
                OpenApiParameter.HEADER,
                description="A single byte range, such as `bytes=0-1023` or `bytes=-500`.",
            ),
            OpenApiParameter(
                "fields",
                {"type": "object", "additionalProperties": {"type": "string"}},
                OpenApiParameter.QUERY,
                style="form",
                explode=True,
                description="info.json only: the names of the top-level fields to return, "
                "as bare parameters (`?title&duration&qualities`).",
            ),
            OpenApiParameter(
                "Content-Range", str, OpenApiParameter.HEADER, required=True, response=[206, 416]
            ),
            OpenApiParameter(
                "Content-Disposition",
                str,
                OpenApiParameter.HEADER,
                required=True,
                response=[206],
                description="`attachment` with the media's title as the file name, "
                "`filename=` in ASCII and `filename*=` in UTF-8.",
            ),
        ],
        responses={
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The file; JSON for info.json, an object of the selected fields "
                "when fields are named.",
            ),
            (200, "application/json"): OpenApiTypes.OBJECT,
            (206, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The range asked for."),
            302: OpenApiResponse(
                description="Only with STORAGE=s3 and S3_PRESIGNED_REDIRECT (the default "
                "then): `Location` is a presigned URL of the file in the bucket, valid for "
                "AWS_QUERYSTRING_EXPIRE seconds, which answers with the same "
                "Content-Disposition and type (and Range). Not for info.json fields or a "
                "playlist's ZIP, which are answered here."
            ),
            **error_responses(
                401,
                404,
                410,
                416,
                503,
                e401="Only when FILES_REQUIRE_KEY is set.",
                e404="No such completed task or file, or no such info.json fields.",
                e410=EXPIRED_DESCRIPTION,
                e416="The range is not satisfiable.",
                e503="Only with STORAGE=s3: the bucket could not be read; retry later.",
            ),
        },
    )
    def get(self, request, task_id, name):
        if settings.FILES_REQUIRE_KEY:
            task = visible_task(request.user, task_id)
        else:
            task = Task.objects.filter(pk=task_id).first()
            # Whoever holds the URL holds the id, the secret: telling them it expired
            # tells nothing new.
            if task is None and TaskTombstone.objects.filter(pk=task_id).exists():
                raise TaskExpired()
        if task is None or name not in task.published_names():
            return error_response("File not found", 404)
        if task.is_playlist:
            return self.playlist_zip(task)
        directory = directories.task_dir(task.id)
        path = directory / name
        if not storage.remote() and not files.is_inside(path, directory):
            return error_response("File not found", 404)
        if name == "info.json" and request.GET:
            return self.info_fields(task, list(request.GET.keys()))
        disposition = files.task_disposition(task, name)
        if storage.remote():
            return storage.file_response(request, task, name, disposition)
        return files.file_response(request, path, disposition)

    @staticmethod
    def playlist_zip(task):
        """The completed entries' files as one ZIP, built as it is sent (no Range: the
        archive does not exist anywhere to seek in), from the disk or the bucket."""
        entries = list(
            task.children.filter(status=TaskStatus.COMPLETED)
            .order_by("position")
            .values_list(
                "id", "position", "file_name", "title", "filename_template", "extra_files",
                "file_size", "finished_at",
            )
        )  # fmt: skip
        # Each entry's file, and its subtitles beside it as they are in its folder (its
        # thumbnail is the page's): (entry id, stored name, size, finished at), and what
        # names it in the archive.
        published, labels = [], []
        for entry_id, position, file_name, title, template, extras, size, finished in entries:
            subtitles = [e for e in extras or () if e["kind"] == EXTRA_SUBTITLES]
            for name, name_size in (
                (file_name, size),
                *((e["name"], e["size"]) for e in subtitles),
            ):
                published.append((entry_id, name, name_size, finished))
                ending = files.published_ending(name, file_name)
                labels.append((position, name, title, bool(template), ending))
        names = files.playlist_member_names(labels)
        if storage.remote():
            members = storage.zip_members(
                (entry_id, name, member, size, finished)
                for (entry_id, name, size, finished), member in zip(published, names, strict=True)
            )
        else:
            local = []
            for (entry_id, name, _, _), member in zip(published, names, strict=True):
                directory = directories.task_dir(entry_id)
                if files.is_inside(directory / name, directory):
                    local.append((directory / name, member))
            members = files.local_zip_members(local)
        response = StreamingHttpResponse(files.zip_stream(members), content_type="application/zip")
        response["Content-Disposition"] = files.task_disposition(task)
        response["Accept-Ranges"] = "none"
        return response

    def info_fields(self, task, names):
        try:
            document = storage.read_json(task.id, task.file_name)
        except FileNotFoundError:
            return error_response("File not found", 404)
        except OSError:
            return error_response("The file storage is unavailable; retry later", 503)
        selected, missing = info.select_fields(document, names)
        if not selected:
            return error_response(f"No such fields: {', '.join(names)}", 404)
        if missing:  # said, not dropped silently: `?title&duration` without a duration
            selected["missing"] = missing
        return JsonResponse(selected, json_dumps_params={"ensure_ascii": False})
