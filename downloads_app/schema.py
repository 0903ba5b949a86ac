"""OpenAPI (drf-spectacular) descriptions of what the task endpoints answer.

Schema only: the views build these bodies as dicts (serializers.task_status); these
serializers describe them for /openapi.json.
"""

from rest_framework import serializers

from downloads_app.models import TaskStatus, TaskType


class TaskCreatedOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices, help_text="Always `waiting`.")
    task_id = serializers.CharField()

    class Meta:
        ref_name = "TaskCreated"


class ProgressOutput(serializers.Serializer):
    downloaded_bytes = serializers.IntegerField(allow_null=True)
    total_bytes = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    speed = serializers.FloatField(allow_null=True, help_text="Bytes per second.")
    eta = serializers.FloatField(allow_null=True, help_text="Seconds.")

    class Meta:
        ref_name = "Progress"


def optional(field_class, **kwargs):
    return field_class(required=False, **kwargs)


class TaskStatusOutput(serializers.Serializer):
    """/status: the fields of the task's type; `file`, `error` and `progress` by status."""

    status = serializers.ChoiceField(choices=TaskStatus.choices)
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    url = serializers.CharField()
    video_format = optional(serializers.CharField, help_text="Video tasks.")
    audio_format = optional(serializers.CharField, help_text="Every type but get_info.")
    output_format = optional(
        serializers.CharField,
        allow_null=True,
        help_text="Every type but get_info; null: the source's own format.",
    )
    start_time = optional(
        serializers.FloatField, allow_null=True, help_text="get_video, get_audio."
    )
    end_time = optional(serializers.FloatField, allow_null=True, help_text="get_video, get_audio.")
    force_keyframes = optional(serializers.BooleanField, help_text="get_video, get_audio.")
    start = optional(serializers.FloatField, allow_null=True, help_text="Live tasks.")
    duration = optional(serializers.FloatField, allow_null=True, help_text="Live tasks.")
    file = optional(
        serializers.CharField, allow_null=True, help_text="When completed: the file's URL path."
    )
    error = optional(serializers.CharField, help_text="When failed: why.")
    progress = ProgressOutput(required=False, help_text="While processing.")
    task_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "TaskStatus"
