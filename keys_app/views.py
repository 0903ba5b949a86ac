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
        description="Needs `create_key`. A key can grant only permissions it holds itself.",
        tags=TAGS,
        request=CreateKeyInput,
        responses={
            201: schema.CreateKeyOutput,
            **error_responses(
                *BODY_ERRORS,
                401,
                403,
                409,
                e403="The key lacks `create_key`, or grants a permission it does not hold.",
                e409="A key with this name already exists.",
            ),
        },
    )
    def post(self, request):
        data = validated(CreateKeyInput, request.data)
        api_key, secret = services.key_create(
            request.user, data["name"], data["permissions"], data.get("request_limit")
        )
        body = {"message": "API key created successfully", "key": secret, "name": api_key.name}
        return Response(body, status=status.HTTP_201_CREATED)


class DeleteKeyView(APIView):
    required_permission = "delete_key"

    @extend_schema(
        operation_id="delete_key",
        summary="Delete a key",
        description="Needs `delete_key`. The last key holding `create_key` cannot be deleted.",
        tags=TAGS,
        responses={
            200: schema.DeleteKeyOutput,
            **error_responses(
                401,
                403,
                404,
                409,
                e404="No key has this name.",
                e409="This is the last key that holds `create_key`.",
            ),
        },
    )
    def delete(self, request, name):
        services.key_delete(name)
        return Response({"message": "API key deleted successfully", "name": name})


class GetKeyView(APIView):
    required_permission = "get_key"

    @extend_schema(
        operation_id="get_key",
        summary="Show a key",
        description="Needs `get_key`.",
        tags=TAGS,
        responses={
            200: schema.GetKeyOutput,
            **error_responses(401, 403, 404, e404="No key has this name."),
        },
    )
    def get(self, request, name):
        api_key = services.key_get(name)
        return Response({"message": "API key get successfully", **key_output(api_key)})


class GetKeysView(APIView):
    required_permission = "get_keys"

    @extend_schema(
        operation_id="get_keys",
        summary="Show every key",
        description="Needs `get_keys`.",
        tags=TAGS,
        responses={200: schema.KeyMapOutput, **error_responses(401, 403)},
    )
    def get(self, request):
        return Response({k.name: key_output(k) for k in APIKey.objects.all()})


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
