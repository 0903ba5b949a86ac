from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timeuntil

from subscriptions_app import archive, subscribing
from subscriptions_app.models import Subscription, SubscriptionEntry
from ytdlphost.exceptions import ServiceError


class EntryInline(admin.TabularInline):
    model = SubscriptionEntry
    fields = ["archive_id", "title", "state", "attempts", "task_id", "first_seen_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """The subscriptions, with the actions of the API: check now, pause, resume, delete
    (the admin's own)."""

    list_display = [
        "id", "api_key", "short_url", "task_type", "paused", "last_checked_at", "next_check",
        "entry_counts", "short_error", "task_list",
    ]  # fmt: skip
    list_filter = ["paused", "task_type"]
    search_fields = ["id", "url", "title", "api_key__name"]
    list_select_related = ["api_key"]
    readonly_fields = [f.name for f in Subscription._meta.fields if f.name != "interval"]
    inlines = [EntryInline]
    actions = ["check_now", "pause", "resume"]

    def has_add_permission(self, request):
        return False  # subscriptions come from the API, which lists the URL first

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        archive.with_counts(list(changelist.result_list))
        return changelist

    @admin.display(description="URL")
    def short_url(self, subscription):
        return subscription.url if len(subscription.url) <= 60 else subscription.url[:57] + "..."

    @admin.display(description="next check", ordering="next_check_at")
    def next_check(self, subscription):
        if subscription.paused:
            return "paused"
        if subscription.next_check_at <= timezone.now():
            return "due"
        return f"in {timeuntil(subscription.next_check_at)}"

    @admin.display(description="entries")
    def entry_counts(self, subscription):
        counts = getattr(subscription, "counts", None)
        if counts is None:
            counts = archive.with_counts([subscription])[0].counts
        return (
            f"{counts['downloaded']} downloaded of {counts['seen']} seen, {counts['failed']} failed"
        )

    @admin.display(description="error")
    def short_error(self, subscription):
        return (subscription.paused_reason or subscription.last_error)[:120]

    @admin.display(description="tasks")
    def task_list(self, subscription):
        return format_html(
            '<a href="/admin/downloads_app/task/?subscription__id__exact={}">tasks</a>',
            subscription.id,
        )

    @admin.action(description="Check the selected subscriptions now")
    def check_now(self, request, queryset):
        self._each(request, queryset, subscribing.check_now, "queued for a check")

    @admin.action(description="Pause the selected subscriptions")
    def pause(self, request, queryset):
        self._each(request, queryset, lambda s: subscribing.change(s, {"paused": True}), "paused")

    @admin.action(description="Resume the selected subscriptions")
    def resume(self, request, queryset):
        self._each(request, queryset, lambda s: subscribing.change(s, {"paused": False}), "resumed")

    def _each(self, request, queryset, act, done: str) -> None:
        acted = 0
        for subscription in queryset:
            try:
                act(subscription)
                acted += 1
            except ServiceError as exc:
                self.message_user(request, f"{subscription.id}: {exc}", messages.WARNING)
        if acted:
            self.message_user(request, f"{acted} subscription(s) {done}.", messages.SUCCESS)
