"""The keys app's answers and their OpenAPI description: the X-API-Key security scheme,
and output serializers that build the key endpoints' bodies and, the same classes,
describe them in /openapi.json. Imported by KeysAppConfig.ready(), which
is what registers the extensions below."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.plumbing import build_object_type
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from keys_app.authentication import HEADER
from keys_app.models import PERMISSIONS


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "keys_app.authentication.APIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": HEADER,
            "description": "An API key's secret. Keys are managed with /create_key and the "
            "Django admin.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "keys_app.authentication.SessionKeyAuthentication"
    name = "SessionAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The web page's session, after signing in at / with an API key. "
            "Requests that change something must also carry Django's CSRF token as "
            "`X-CSRFToken` (403 without it).",
        }


class PermissionField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=PERMISSIONS, **kwargs)


class KeyOutput(serializers.Serializer):
    """A key as /get_keys shows it."""

    key = serializers.SerializerMethodField(
        help_text="The secret; null when the key can do more than the caller (a permission "
        "the caller lacks, a higher request limit), or when it can no longer be decrypted.",
    )
    name = serializers.CharField()
    permissions = serializers.ListField(child=PermissionField())
    request_limit = serializers.IntegerField(
        allow_null=True, help_text="Null: the REQUEST_LIMIT setting applies; 0: no limit."
    )
    quota_bytes = serializers.IntegerField(
        allow_null=True,
        help_text="Bytes the key's tasks may download per QUOTA_WINDOW; null or 0: no quota "
        "of its own.",
    )
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    webhook_url = serializers.CharField(
        help_text="The key's default webhook URL, for tasks that name none; empty: none."
    )
    webhook_secret = serializers.SerializerMethodField(
        help_text="The Standard Webhooks signing secret (`whsec_...`) of this key's "
        "webhooks; null when `key` is.",
    )

    class Meta:
        ref_name = "Key"

    @extend_schema_field({"type": "string", "nullable": True})
    def get_key(self, api_key) -> str | None:
        # Decrypted only when it is to be shown.
        return api_key.secret if self.context.get("show_secret", True) else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_webhook_secret(self, api_key) -> str | None:
        return api_key.webhook_secret if self.context.get("show_secret", True) else None


class GetKeyOutput(KeyOutput):
    """A key as /get_key shows it: as in /get_keys, with a message."""

    message = serializers.CharField()

    class Meta:
        ref_name = "GetKey"


class KeyMapOutput(serializers.Serializer):
    """/get_keys: every key by its name (a schema-only placeholder, see KeyMapScheme)."""

    class Meta:
        ref_name = "KeyMap"


class KeyMapScheme(OpenApiSerializerExtension):
    target_class = KeyMapOutput

    def map_serializer(self, auto_schema, direction):
        key = auto_schema.resolve_serializer(KeyOutput, direction)
        return build_object_type(description="Every key, by name.", additionalProperties=key.ref)


class CreateKeyOutput(serializers.Serializer):
    message = serializers.CharField()
    key = serializers.CharField(help_text="The new key's secret.")
    name = serializers.CharField()
    webhook_secret = serializers.CharField(
        help_text="The signing secret (`whsec_...`) of the new key's webhooks."
    )

    class Meta:
        ref_name = "CreatedKey"


class DeleteKeyOutput(serializers.Serializer):
    message = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "DeletedKey"


class PermissionsGrantedOutput(serializers.Serializer):
    message = serializers.CharField()
    permissions = serializers.ListField(child=PermissionField())

    class Meta:
        ref_name = "PermissionsGranted"


class PermissionsMissingOutput(serializers.Serializer):
    error = serializers.CharField()
    missing = serializers.ListField(child=PermissionField())

    class Meta:
        ref_name = "PermissionsMissing"
