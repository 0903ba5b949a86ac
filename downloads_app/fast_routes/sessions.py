"""The web page's session on a fast route: the key its cookie signs in with, found as
SessionKeyAuthentication finds it, and what Django's middleware adds to an answer that
read a session."""

from importlib import import_module

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from keys_app.authentication import signed_in_key
from keys_app.models import APIKey
from ytdlphost import fast_path


def session_api_key(request: fast_path.FastRequest) -> APIKey | None:
    """The key of the request's signed-in session; None when there is none, or when
    Django's answer would do more than read the session (sign it out because its key is
    gone, set a new CSRF cookie): the view answers those."""
    cookies = parse_cookie(request.headers.get("cookie", ""))
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    if not session_key or csrf_cookie_renewed(cookies):
        return None
    # As SessionMiddleware opens it: the configured engine, the id from the cookie.
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return signed_in_key(session)


def session_id(request: fast_path.FastRequest) -> str | None:
    """The session id the request's cookie names, as sent (not looked up)."""
    cookies = parse_cookie(request.headers.get("cookie", ""))
    return cookies.get(settings.SESSION_COOKIE_NAME) or None


def csrf_cookie_renewed(cookies: dict) -> bool:
    """Whether CsrfViewMiddleware would answer with a new CSRF cookie (the one sent is
    malformed): its own check, on a request that has only these cookies."""
    request = HttpRequest()
    request.COOKIES = cookies
    CsrfViewMiddleware(lambda request: None).process_request(request)
    return bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))


def session_headers() -> list[tuple[bytes, bytes]]:
    """What an answer that read the session gets from SessionMiddleware (Vary: Cookie) and
    SessionCookieMiddleware (never cached), through the functions they call."""
    response = HttpResponse()
    del response.headers["Content-Type"]
    patch_vary_headers(response, ("Cookie",))
    add_never_cache_headers(response)
    return [(name.lower().encode(), value.encode()) for name, value in response.headers.items()]
