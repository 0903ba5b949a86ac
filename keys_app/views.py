from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from keys_app import services
from keys_app.models import APIKey
from keys_app.serializers import CheckPermissionsInput, CreateKeyInput, key_output
from ytdlphost.validation import validated


class CreateKeyView(APIView):
    required_permission = "create_key"

    def post(self, request):
        data = validated(CreateKeyInput, request.data)
        api_key, secret = services.key_create(
            request.user, data["name"], data["permissions"], data.get("request_limit")
        )
        body = {"message": "API key created successfully", "key": secret, "name": api_key.name}
        return Response(body, status=status.HTTP_201_CREATED)


class DeleteKeyView(APIView):
    required_permission = "delete_key"

    def delete(self, request, name):
        services.key_delete(name)
        return Response({"message": "API key deleted successfully", "name": name})


class GetKeyView(APIView):
    required_permission = "get_key"

    def get(self, request, name):
        api_key = services.key_get(name)
        return Response({"message": "API key get successfully", **key_output(api_key)})


class GetKeysView(APIView):
    required_permission = "get_keys"

    def get(self, request):
        return Response({k.name: key_output(k) for k in APIKey.objects.all()})


class CheckPermissionsView(APIView):
    required_permission = None  # any valid key may ask what it holds

    def post(self, request):
        data = validated(CheckPermissionsInput, request.data)
        missing = [p for p in data["permissions"] if not request.user.allows(p)]
        if missing:
            return Response(
                {"error": "Insufficient permissions", "missing": missing},
                status=status.HTTP_403_FORBIDDEN,
            )
        return Response({"message": "Permissions granted", "permissions": data["permissions"]})
