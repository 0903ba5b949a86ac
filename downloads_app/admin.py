from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from downloads_app import lifecycle
from downloads_app.models import (
    BucketDeletion,
    Preset,
    Site,
    Task,
    TaskStatus,
    WebhookAttempt,
    WebhookDelivery,
    YtdlpEvent,
)
from ytdlphost.exceptions import ServiceError


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "id", "api_key", "task_type", "status_and_progress", "short_url", "age", "short_error",
        "file_link",
    ]  # fmt: skip
    list_filter = ["status", "error_code", "task_type"]
    search_fields = ["id", "url", "site", "api_key__name"]
    list_select_related = ["api_key"]
    # Every field (error_detail: yt-dlp's raw message), then what is derived from them.
    readonly_fields = [f.name for f in Task._meta.fields] + ["progress", "file_link"]
    actions = ["cancel_tasks", "retry_tasks"]

    class Media:
        css = {"all": ["downloads_app/admin.css"]}  # the list fits 1280 px

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

    # One column, not two: a progress column would be empty on every finished row, and
    # the list must fit 1280 px.
    @admin.display(description="status", ordering="status")
    def status_and_progress(self, task):
        progress = self.progress(task)
        status = task.get_status_display()
        return f"{status}, {progress}" if progress else status

    @admin.display(description="progress")
    def progress(self, task):
        # Only a running task has progress: a finished one's last write (often short of
        # 100 %) would read as a download that stopped there; its status says how it ended.
        if task.status != TaskStatus.PROCESSING:
            return None
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

    @admin.action(description="Cancel selected tasks")
    def cancel_tasks(self, request, queryset):
        self._each(request, queryset, lifecycle.task_cancel, "cancelled")

    @admin.action(description="Retry selected tasks")
    def retry_tasks(self, request, queryset):
        self._each(request, queryset, lifecycle.task_retry, "queued again")

    def _each(self, request, queryset, service, done: str):
        """Run the API's own service on each task; report what it refused, and why."""
        succeeded, refused = 0, []
        for task_id in queryset.values_list("id", flat=True):
            try:
                service(task_id)
                succeeded += 1
            except ServiceError as exc:  # finished already, rate limit, ...
                refused.append(f"{task_id}: {exc}")
        if succeeded:
            self.message_user(request, f"{succeeded} task(s) {done}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "status_code", "duration", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every event sent to a webhook, with each attempt: what the receiver answered, how
    long it took, or why it could not be reached."""

    list_display = ["id", "event_type", "task_id", "api_key", "state", "attempts", "created_at"]
    list_filter = ["state", "event_type"]
    search_fields = ["id", "task_id", "url", "api_key__name"]
    list_select_related = ["api_key"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]

    class Media:
        css = {"all": ["downloads_app/admin.css"]}  # the list fits 1280 px

    def has_add_permission(self, request):
        return False  # deliveries come from tasks that end


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    """The operator's presets (also loaded from a file: `manage.py load_presets`). Their
    options are checked by Preset.clean with the task type's request serializer, so a
    bad one is shown on the form's field."""

    list_display = ["name", "task_type", "short_description", "option_summary", "updated_at"]
    list_filter = ["task_type"]
    search_fields = ["name", "description"]
    fields = ["name", "description", "task_type", "options", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="description")
    def short_description(self, preset):
        return preset.description[:80]

    @admin.display(description="options")
    def option_summary(self, preset):
        text = ", ".join(f"{name}={value}" for name, value in preset.options.items())
        return text if len(text) <= 100 else text[:97] + "..."


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    """The sites the limits know (site_limits.py): which back off after refusing a task,
    until when, and their refusals in a row. Ending a backoff by hand lets the site's
    held tasks start at the next maintenance pass (within seconds)."""

    list_display = ["name", "backoff_until", "refusals", "refused_at"]
    search_fields = ["name"]
    ordering = ["-backoff_until", "name"]
    readonly_fields = [f.name for f in Site._meta.fields]
    actions = ["end_backoffs"]

    def has_add_permission(self, request):
        return False  # sites come from tasks

    @admin.action(description="End the backoff of selected sites now")
    def end_backoffs(self, request, queryset):
        now = timezone.now()
        ended = queryset.filter(backoff_until__gt=now).update(backoff_until=now)
        message = f"{ended} backoff(s) ended; their tasks start within seconds."
        self.message_user(request, message, messages.SUCCESS)


@admin.register(YtdlpEvent)
class YtdlpEventAdmin(admin.ModelAdmin):
    """yt-dlp's runtime updates: every check, switch, refusal (with the canary's reason)
    and rollback; above the list, what /healthz says of yt-dlp on this host."""

    list_display = ["created_at", "kind", "version", "current", "host", "reason"]
    list_filter = ["kind", "host"]
    search_fields = ["version", "reason"]
    readonly_fields = [f.name for f in YtdlpEvent._meta.fields]

    def has_add_permission(self, request):
        return False  # rows come from the updates

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from downloads_app import ytdlp_updates

        self.message_user(request, ytdlp_updates.summary(), messages.INFO)
        return super().changelist_view(request, extra_context)


@admin.register(BucketDeletion)
class BucketDeletionAdmin(admin.ModelAdmin):
    """STORAGE=s3: the objects of deleted tasks still to delete from the bucket, and why
    the last attempt failed; every cleanup tries again (storage.delete_pending)."""

    list_display = ["task_id", "created_at", "attempts", "last_error"]
    readonly_fields = [f.name for f in BucketDeletion._meta.fields]

    def has_add_permission(self, request):
        return False  # rows come from deleted tasks

    def has_change_permission(self, request, obj=None):
        return False
