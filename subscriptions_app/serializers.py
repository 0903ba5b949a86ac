"""What /subscriptions reads and answers.

A subscription's body has its own fields (SubscriptionInput, SubscriptionChangeInput)
and, beside them, request fields of its task type: the defaults of the tasks it starts,
kept as `options` and checked as a request of that type is, its `preset` applied the
same way (presets.with_preset, then the type's serializer).
"""

import copy
from functools import cache

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import empty

from downloads_app import presets
from downloads_app import serializers as task_serializers
from downloads_app.models import PRESET_NAME_MAX_LENGTH, Preset, TaskType
from subscriptions_app.models import SUBSCRIPTION_TASK_TYPES, Subscription
from ytdlphost.validation import validated

# The task endpoint whose rules a subscription's task options follow.
TASK_INPUTS = {
    TaskType.GET_VIDEO: task_serializers.GetVideoInput,
    TaskType.GET_AUDIO: task_serializers.GetAudioInput,
}
# What its body shows of the formats its tasks get (as it did before `options`).
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


def preset_field():
    return serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=PRESET_NAME_MAX_LENGTH,
        help_text="A preset of `task_type` (GET /presets) for its tasks; the request fields "
        "given here win over the preset's. null or empty: none.",
    )


def task_request(subscription: Subscription, options=None, preset=None) -> dict:
    """The validated request of the subscription's tasks (each gets its entry's URL): its
    options over its preset's, with its webhook_url, checked as the task type's endpoint
    checks a request. `options` and `preset` stand in for its own when given. Raises what
    a request would: a 400 ValidationError, or presets' Invalid / NotPermitted.

    The key is in the context, as a request's view puts it there. Host names are not
    looked up again (`resolve_hosts`): the subscription's URL and webhook_url were when
    it was made, and every connection is checked as it is made."""
    options = subscription.options if options is None else options
    preset = subscription.preset if preset is None else preset
    body = {"url": subscription.url, **options}
    if subscription.webhook_url:
        body["webhook_url"] = subscription.webhook_url
    if preset:
        body["preset"] = preset
    task_type = subscription.task_type
    merged = presets.with_preset(subscription.api_key, task_type, body)
    context = {"api_key": subscription.api_key, "resolve_hosts": False}
    return presets.validated_request(TASK_INPUTS[task_type], body, merged, context)


def split_body(own_serializer, body) -> tuple[dict, dict]:
    """(the subscription's own fields, the request fields for its tasks) of a body."""
    if not isinstance(body, dict):
        raise serializers.ValidationError("Request body must be a JSON object")
    own = set(own_serializer().fields)
    return (
        {name: value for name, value in body.items() if name in own},
        {name: value for name, value in body.items() if name not in own},
    )


def given(options: dict) -> dict:
    """A null request field of a subscription is one it does not set (the preset's, else
    the endpoint's default, applies)."""
    return {name: value for name, value in options.items() if value is not None}


class SubscriptionInput(serializers.Serializer):
    """POST /subscriptions: these, and request fields of `task_type` (validated_input)."""

    url = task_serializers.TaskURLField(
        help_text="A channel, playlist or RSS/Atom feed: whatever /get_playlist accepts."
    )
    task_type = serializers.ChoiceField(choices=[t.value for t in SUBSCRIPTION_TASK_TYPES])
    preset = preset_field()
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

    @classmethod
    def validated_input(cls, api_key, body) -> dict:
        """The subscription's fields, `options` and `preset` included, once its tasks'
        request is valid for this key (as the task type's endpoint would take it)."""
        own, options = split_body(cls, body)
        data = dict(validated(cls, own))
        data["options"], data["preset"] = given(options), data.get("preset") or ""
        request_fields = ("url", "task_type", "webhook_url", "options", "preset")
        subscription = Subscription(
            api_key=api_key, **{name: data[name] for name in request_fields if name in data}
        )
        task_request(subscription)
        data.setdefault("interval", settings.SUBSCRIPTION_DEFAULT_INTERVAL)
        return data


class SubscriptionChangeInput(serializers.Serializer):
    """PATCH /subscriptions/<id>: these, and request fields of its task type, each set
    over its options (null: no longer set)."""

    interval = IntervalField(required=False)
    paused = task_serializers.StrictBooleanField(required=False)
    preset = preset_field()

    @classmethod
    def validated_input(cls, subscription: Subscription, body) -> dict:
        own, options = split_body(cls, body)
        data = dict(validated(cls, own))
        if "preset" in data:
            data["preset"] = data["preset"] or ""
        if options or "preset" in data:
            data["options"] = given({**subscription.options, **options})
            task_request(subscription, data["options"], data.get("preset"))
        return data


def with_request_fields(own_serializer, name: str):
    """For the schema only: the subscription's own fields and the request fields of its
    task types' endpoints, which validated_input hands to those endpoints' serializers."""
    fields = {}
    for serializer in TASK_INPUTS.values():
        for field_name, field in serializer._declared_fields.items():
            if field_name not in own_serializer._declared_fields and field_name != "url":
                fields.setdefault(field_name, copy.deepcopy(field))
    meta = type("Meta", (), {"ref_name": name})
    return type(name, (own_serializer,), {**fields, "Meta": meta})


SubscriptionRequest = with_request_fields(SubscriptionInput, "SubscriptionRequest")
SubscriptionChangeRequest = with_request_fields(SubscriptionChangeInput, "SubscriptionChange")


@cache
def endpoint_defaults(task_type: str) -> dict:
    """The defaults of the formats of the type's endpoint; "" for one it has not."""
    fields = TASK_INPUTS[task_type]().fields
    return {
        name: "" if name not in fields or fields[name].default is empty else fields[name].default
        for name in FORMAT_FIELDS
    }


def task_formats(subscription: Subscription) -> dict:
    """The formats its tasks get: its own, else its preset's, else the endpoint's."""
    preset_options = {}
    if subscription.preset:
        found = Preset.objects.filter(name=subscription.preset).values_list("options", flat=True)
        preset_options = next(iter(found), None) or {}
    merged = {**endpoint_defaults(subscription.task_type), **preset_options}
    merged.update(subscription.options)
    return {name: merged.get(name) or "" for name in FORMAT_FIELDS}


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
    video_format = serializers.CharField(
        source="task_formats.video_format",
        help_text="What its tasks get: its own, else its preset's, else /get_video's "
        "default; empty for get_audio.",
    )
    audio_format = serializers.CharField(
        source="task_formats.audio_format", help_text="As video_format."
    )
    output_format = serializers.CharField(
        source="task_formats.output_format",
        allow_null=True,
        help_text="As video_format; null: the source's own format.",
    )
    preset = serializers.CharField(allow_null=True, help_text="Its preset's name; null: none.")
    options = serializers.DictField(
        help_text="The request fields it sets for its tasks, as given (over its preset's)."
    )
    counts = EntryCountsOutput(help_text="The archive's entries by state.")
    checking = serializers.SerializerMethodField(help_text="A check is under way.")

    class Meta:
        model = Subscription
        ref_name = "Subscription"
        fields = [
            "subscription_id", "url", "title", "task_type", "preset", "options",
            "video_format", "audio_format", "output_format", "interval", "webhook_url",
            "paused", "paused_reason", "created_at", "last_checked_at", "next_check_at",
            "checking", "last_error", "error_code", "counts",
        ]  # fmt: skip

    def get_checking(self, subscription) -> bool:
        # A claim whose lease ran out (its worker died) is no check under way.
        until = subscription.checking_until
        return until is not None and until > timezone.now()

    def to_representation(self, subscription):
        subscription.task_formats = task_formats(subscription)
        body = super().to_representation(subscription)
        for name in ("last_error", "error_code", "output_format", "preset"):
            body[name] = body[name] or None
        return body
