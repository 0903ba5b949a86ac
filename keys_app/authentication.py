from rest_framework import authentication, exceptions

from keys_app.models import APIKey

HEADER = "X-API-Key"


class APIKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a request by its X-API-Key header.

    Returns None when no key was sent (the permission class then answers 401 "No API key
    provided"), raises when a key was sent but matches none.
    """

    def authenticate(self, request):
        secret = request.headers.get(HEADER)
        if not secret:
            return None
        api_key = APIKey.objects.get_by_secret(secret)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key")
        api_key.touch()
        return (api_key, None)

    def authenticate_header(self, request):
        # Having a challenge makes DRF answer 401 rather than 403 to unauthenticated calls.
        return HEADER
