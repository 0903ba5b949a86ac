from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from downloads_app.models import Task, TaskStatus


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "id", "api_key", "task_type", "status", "progress", "short_url", "age", "short_error",
        "file_link",
    ]  # fmt: skip
    list_filter = ["status", "task_type"]
    search_fields = ["id", "url", "api_key__name"]
    list_select_related = ["api_key"]
    # Every field, then what is derived from them. error_detail: yt-dlp's raw message, a
    # field of Task where there is one (dict.fromkeys: listed once).
    readonly_fields = list(
        dict.fromkeys(
            [f.name for f in Task._meta.fields] + ["error_detail", "progress", "file_link"]
        )
    )

    def has_add_permission(self, request):
        return False  # tasks come from the API

    @admin.display(description="URL")
    def short_url(self, task):
        return task.url if len(task.url) <= 60 else task.url[:57] + "..."

    @admin.display(description="age")
    def age(self, task):
        return timesince(task.created_at, timezone.now())

    @admin.display(description="error")
    def short_error(self, task):
        return task.error[:120]

    @admin.display(description="error detail")
    def error_detail(self, task):
        return getattr(task, "error_detail", "")

    @admin.display(description="progress")
    def progress(self, task):
        if task.percent is not None:
            return f"{task.percent:g} %"
        if task.downloaded_bytes is not None:
            return filesizeformat(task.downloaded_bytes)
        return None

    @admin.display(description="file")
    def file_link(self, task):
        if task.status != TaskStatus.COMPLETED or not task.file_url:
            return None
        return format_html('<a href="{}">{}</a>', task.file_url, task.file_name)
