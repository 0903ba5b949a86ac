import hmac

from django.middleware.csrf import CsrfViewMiddleware, rotate_token
from rest_framework import authentication, exceptions

from keys_app.models import APIKey

HEADER = "X-API-Key"
# The session of a person signed in on the web page: the key's id, and its digest so that
# a key deleted or given a new secret meanwhile no longer signs anyone in.
SESSION_KEY_ID = "api_key_id"
SESSION_KEY_DIGEST = "api_key_digest"
# Why the session ended, for the page to say once (a key deleted meanwhile).
SESSION_SIGNED_OUT = "signed_out"
KEY_GONE = "Signed out: this API key no longer exists."


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


def sign_in(request, api_key: APIKey) -> None:
    """Keep `api_key` in the request's session (the web page's sign-in). A new session id
    and a new CSRF token, as Django's login() gives, so neither one planted nor one read
    before signing in is worth anything after."""
    request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_KEY_ID] = api_key.pk
    request.session[SESSION_KEY_DIGEST] = api_key.key_digest
    request.session.pop(SESSION_SIGNED_OUT, None)


def sign_out(request, reason: str = "") -> None:
    request.session.flush()
    if reason:
        request.session[SESSION_SIGNED_OUT] = reason


def session_key(request) -> APIKey | None:
    """The key the session was signed in with, or None when it is not signed in. A key
    deleted (or given a new secret) since signs the session out."""
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY_ID not in session:
        return None
    api_key = signed_in_key(session)
    if api_key is None:
        sign_out(request, KEY_GONE)
    return api_key


def signed_in_key(session) -> APIKey | None:
    """The key `session` was signed in with, while it exists with the same secret; None
    otherwise. Only reads (the fast routes leave the signing out to session_key)."""
    if SESSION_KEY_ID not in session:
        return None
    digest = session.get(SESSION_KEY_DIGEST, "")
    api_key = APIKey.objects.filter(pk=session[SESSION_KEY_ID]).first()
    if api_key is None or not hmac.compare_digest(api_key.key_digest, str(digest)):
        return None
    return api_key


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason  # returned rather than rendered, to become DRF's 403


class SessionKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a request by the web page's session, with Django's CSRF check.

    Returns None when the session was never signed in (the next class, or the permission
    class, answers); raises when it was but its key is gone, or the CSRF token is missing
    from a request that changes something.
    """

    def authenticate(self, request):
        django_request = request._request
        session = getattr(django_request, "session", None)
        if session is None or SESSION_KEY_ID not in session:
            return None
        api_key = session_key(django_request)
        if api_key is None:
            raise exceptions.AuthenticationFailed(KEY_GONE)
        self.enforce_csrf(django_request)
        api_key.touch()
        return (api_key, None)

    def enforce_csrf(self, request):
        # As DRF's SessionAuthentication: the middleware's check, run here because DRF's
        # views are csrf_exempt (API-key clients carry no cookie to forge with).
        check = _CSRFCheck(lambda request: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")

    def authenticate_header(self, request):
        return HEADER
