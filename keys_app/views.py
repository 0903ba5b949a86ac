from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from keys_app import schema, services
from keys_app.models import APIKey
from keys_app.serializers import CheckPermissionsInput, CreateKeyInput, key_output
from ytdlphost.schema import BODY_ERRORS, error_responses
from ytdlphost.validation import validated

TAGS = ["keys"]


class CreateKeyView(APIView):
    required_permission = "create_key"

    @extend_schema(
        operation_id="create_key",
        summary="Create a key",
        description="Needs `create_key`. A key can grant only permissions it holds itself, "
        "and a `request_limit` no higher than its own (or REQUEST_LIMIT when it has none); "
        "a key with a `quota_bytes` can create keys only with a quota no higher.",
        tags=TAGS,
        request=CreateKeyInput,
        responses={
            201: schema.CreateKeyOutput,
            **error_responses(
                *BODY_ERRORS,
                401,
                403,
                409,
                e403="The key lacks `create_key`, or grants a permission it does not hold or "
                "a request limit above its own.",
                e409="A key with this name already exists.",
            ),
        },
    )
    def post(self, request):
        data = validated(CreateKeyInput, request.data)
        api_key, secret = services.key_create(
            request.user,
            data["name"],
            data["permissions"],
            data.get("request_limit"),
            webhook_url=data.get("webhook_url", ""),
            quota_bytes=data.get("quota_bytes"),
        )
        body = {
            "message": "API key created successfully",
            "key": secret,
            "name": api_key.name,
            "webhook_secret": api_key.webhook_secret,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class DeleteKeyView(APIView):
    required_permission = "delete_key"

    @extend_schema(
        operation_id="delete_key",
        summary="Delete a key",
        description="Needs `delete_key`. Only a key that can do no more than the caller (no "
        "permission it lacks, no higher request limit) can be deleted; the last key holding "
        "`create_key` cannot be.",
        tags=TAGS,
        responses={
            200: schema.DeleteKeyOutput,
            **error_responses(
                401,
                403,
                404,
                409,
                e403="The key lacks `delete_key`, or the other key can do more than it.",
                e404="No key has this name.",
                e409="This is the last key that holds `create_key`.",
            ),
        },
    )
    def delete(self, request, name):
        deleted_name = services.key_delete(request.user, name)
        return Response({"message": "API key deleted successfully", "name": deleted_name})


class GetKeyView(APIView):
    required_permission = "get_key"

    @extend_schema(
        operation_id="get_key",
        summary="Show a key",
        description="Needs `get_key`. Names are matched in their normal form (NFKC, "
        "case-folded). Only a key that can do no more than the caller (no permission it "
        "lacks, no higher request limit) is shown.",
        tags=TAGS,
        responses={
            200: schema.GetKeyOutput,
            **error_responses(
                401,
                403,
                404,
                e403="The key lacks `get_key`, or the other key can do more than it.",
                e404="No key has this name.",
            ),
        },
    )
    def get(self, request, name):
        api_key = services.key_get(request.user, name)
        return Response({"message": "API key get successfully", **key_output(api_key)})


class GetKeysView(APIView):
    required_permission = "get_keys"

    @extend_schema(
        operation_id="get_keys",
        summary="Show every key",
        description="Needs `get_keys`. A key that can do more than the caller is listed "
        "with `key` null.",
        tags=TAGS,
        responses={200: schema.KeyMapOutput, **error_responses(401, 403)},
    )
    def get(self, request):
        keys = APIKey.objects.all()
        return Response({k.name: key_output(k, show_secret=request.user.covers(k)) for k in keys})


class CheckPermissionsView(APIView):
    required_permission = None  # any valid key may ask what it holds

    @extend_schema(
        operation_id="check_permissions",
        summary="Check the key's permissions",
        description="Any valid key. 200 when the key holds every listed permission, "
        "else 403 naming the missing ones.",
        tags=TAGS,
        request=CheckPermissionsInput,
        responses={
            200: schema.PermissionsGrantedOutput,
            403: OpenApiResponse(
                schema.PermissionsMissingOutput, description="Some permissions are missing."
            ),
            **error_responses(*BODY_ERRORS, 401),
        },
    )
    def post(self, request):
        data = validated(CheckPermissionsInput, request.data)
        missing = [p for p in data["permissions"] if not request.user.allows(p)]
        if missing:
            return Response(
                {"error": "Insufficient permissions", "missing": missing},
                status=status.HTTP_403_FORBIDDEN,
            )
        return Response({"message": "Permissions granted", "permissions": data["permissions"]})
