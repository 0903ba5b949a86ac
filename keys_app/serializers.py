from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from keys_app.models import NAME_MAX_LENGTH, PERMISSIONS, APIKey, validate_key_name
from keys_app.schema import KeyOutput
from keys_app.webhook_policy import MAX_URL_LENGTH, validate_webhook_url

KEY_NAME_PATTERN = r"^[\w.@+-]+$"
# The largest value a PositiveIntegerField holds on every supported database.
MAX_REQUEST_LIMIT = 2**31 - 1
# The largest value a PositiveBigIntegerField holds on every supported database.
MAX_QUOTA_BYTES = 2**63 - 1


@extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=PERMISSIONS)))
class PermissionListField(serializers.ListField):
    child = serializers.CharField(max_length=50)

    def to_internal_value(self, data):
        permissions = super().to_internal_value(data)
        unknown = sorted(set(permissions) - set(PERMISSIONS))
        if unknown:
            raise serializers.ValidationError(f"Unknown permissions: {', '.join(unknown)}")
        # Keep the document's order and drop repeats.
        return [p for p in PERMISSIONS if p in permissions]


class CreateKeyInput(serializers.Serializer):
    name = serializers.RegexField(
        KEY_NAME_PATTERN,
        max_length=NAME_MAX_LENGTH,
        error_messages={"invalid": "Use letters, digits and . @ + - _ only."},
        validators=[validate_key_name],
    )
    permissions = PermissionListField()
    request_limit = serializers.IntegerField(
        min_value=1, max_value=MAX_REQUEST_LIMIT, required=False, allow_null=True
    )
    quota_bytes = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUOTA_BYTES,
        required=False,
        allow_null=True,
        help_text="Bytes the key's tasks may download per QUOTA_WINDOW (rolling); null or "
        "0: no quota of its own. No higher than the creator's own quota, when it has one.",
    )
    webhook_url = serializers.CharField(
        max_length=MAX_URL_LENGTH,
        required=False,
        allow_blank=True,
        validators=[validate_webhook_url],
        help_text="Where the events of this key's tasks are sent when a task names no "
        "webhook_url of its own: an http or https URL the server may reach.",
    )


class CheckPermissionsInput(serializers.Serializer):
    permissions = PermissionListField()


def key_output(api_key: APIKey, show_secret=True) -> dict:
    """How a key is shown by /get_keys (and, with a message, /get_key); without its secret
    (`key` null) to a caller that does not cover it."""
    return KeyOutput(api_key, context={"show_secret": show_secret}).data
