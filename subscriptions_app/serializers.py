"""What /subscriptions reads and answers."""

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from downloads_app import serializers as task_serializers
from downloads_app.models import TaskType
from subscriptions_app.models import SUBSCRIPTION_TASK_TYPES, Subscription
from ytdlphost.validation import validated

# The task endpoint whose rules a subscription's task options follow.
TASK_INPUTS = {
    TaskType.GET_VIDEO: task_serializers.GetVideoInput,
    TaskType.GET_AUDIO: task_serializers.GetAudioInput,
}
FORMAT_FIELDS = ("video_format", "audio_format", "output_format")


class IntervalField(serializers.IntegerField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value < settings.SUBSCRIPTION_MIN_INTERVAL:
            raise serializers.ValidationError(
                f"must be at least {settings.SUBSCRIPTION_MIN_INTERVAL} seconds "
                "(SUBSCRIPTION_MIN_INTERVAL)"
            )
        return value


def task_options(task_type: str, url: str, options: dict, resolve_hosts=True) -> dict:
    """The options of the type's task endpoint, validated by its own serializer (the URL,
    the format selectors, the output formats of the type), as Task fields; a field that
    type has not is refused."""
    body = {"url": url, **{name: value for name, value in options.items() if value is not None}}
    data = validated(TASK_INPUTS[task_type], body, {"resolve_hosts": resolve_hosts})
    fields = task_serializers.task_fields(data)
    return {name: fields.get(name, "") for name in FORMAT_FIELDS}


class SubscriptionInput(serializers.Serializer):
    """POST /subscriptions."""

    url = task_serializers.TaskURLField(
        help_text="A channel, playlist or RSS/Atom feed: whatever /get_playlist accepts."
    )
    task_type = serializers.ChoiceField(choices=[t.value for t in SUBSCRIPTION_TASK_TYPES])
    video_format = serializers.CharField(required=False, help_text="get_video: as /get_video.")
    audio_format = serializers.CharField(required=False, help_text="As the task type's endpoint.")
    output_format = serializers.CharField(
        required=False, allow_null=True, help_text="As the task type's endpoint."
    )
    interval = IntervalField(
        required=False,
        help_text="Seconds between checks: at least SUBSCRIPTION_MIN_INTERVAL; absent: "
        "SUBSCRIPTION_DEFAULT_INTERVAL.",
    )
    backfill = serializers.IntegerField(
        min_value=0,
        default=0,
        help_text="How many of the entries listed now are downloaded: the first ones of the "
        "list (for channels and feeds, the newest). 0: only what appears later.",
    )
    webhook_url = task_serializers.WebhookURLField(required=False)

    def validate(self, data):
        options = {name: data.pop(name) for name in FORMAT_FIELDS if name in data}
        data.update(task_options(data["task_type"], data["url"], options))
        data.setdefault("interval", settings.SUBSCRIPTION_DEFAULT_INTERVAL)
        return data


class SubscriptionChangeInput(serializers.Serializer):
    """PATCH /subscriptions/<id>."""

    interval = IntervalField(required=False)
    video_format = serializers.CharField(required=False)
    audio_format = serializers.CharField(required=False)
    output_format = serializers.CharField(required=False, allow_null=True)
    paused = task_serializers.StrictBooleanField(required=False)

    def validate(self, data):
        subscription = self.context["subscription"]
        options = {name: data.pop(name) for name in FORMAT_FIELDS if name in data}
        if options:
            current = {
                name: getattr(subscription, name) or None
                for name in FORMAT_FIELDS
                if name != "video_format" or subscription.task_type == TaskType.GET_VIDEO
            }
            checked = task_options(
                subscription.task_type, subscription.url, {**current, **options},
                resolve_hosts=False,
            )  # fmt: skip
            data.update({name: checked[name] for name in options})
        return data


class SubscriptionListQuery(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=task_serializers.MAX_LIST_LIMIT, default=50
    )
    cursor = task_serializers.TaskCursorField(required=False)


class EntryCountsOutput(serializers.Serializer):
    seen = serializers.IntegerField(help_text="Entries listed since subscribing, in all.")
    downloaded = serializers.IntegerField()
    started = serializers.IntegerField(help_text="Their task has not ended.")
    pending = serializers.IntegerField(help_text="To start at the next check.")
    failed = serializers.IntegerField(
        help_text="Their last task failed (retried up to SUBSCRIPTION_ENTRY_ATTEMPTS)."
    )
    skipped = serializers.IntegerField(help_text="Listed when subscribing, beyond `backfill`.")

    class Meta:
        ref_name = "SubscriptionCounts"


class SubscriptionOutput(serializers.ModelSerializer):
    subscription_id = serializers.CharField(source="id")
    error_code = serializers.CharField(
        source="last_error_code",
        allow_null=True,
        help_text="The last check's error code (as a task's); null when it succeeded.",
    )
    last_error = serializers.CharField(
        allow_null=True, help_text="Why the last check failed; null when it succeeded."
    )
    output_format = serializers.CharField(
        allow_null=True, help_text="null: the source's own format."
    )
    counts = EntryCountsOutput(help_text="The archive's entries by state.")
    checking = serializers.SerializerMethodField(help_text="A check is under way.")

    class Meta:
        model = Subscription
        ref_name = "Subscription"
        fields = [
            "subscription_id", "url", "title", "task_type", "video_format", "audio_format",
            "output_format", "interval", "webhook_url", "paused", "paused_reason",
            "created_at", "last_checked_at", "next_check_at", "checking", "last_error",
            "error_code", "counts",
        ]  # fmt: skip

    def get_checking(self, subscription) -> bool:
        # A claim whose lease ran out (its worker died) is no check under way.
        until = subscription.checking_until
        return until is not None and until > timezone.now()

    def to_representation(self, subscription):
        body = super().to_representation(subscription)
        for name in ("last_error", "error_code", "output_format"):
            body[name] = body[name] or None
        return body
