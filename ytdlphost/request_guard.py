"""The rules every HTTP request meets before any route answers it, fast route
(ytdlphost/fast_path.py) or Django view: stated once, around the whole ASGI application
(ytdlphost/asgi.py), so that no path can forget one (the fast routes once forgot
ALLOWED_HOSTS).

- Its Host is one Django accepts: Django's own HttpRequest.get_host decides (ALLOWED_HOSTS,
  USE_X_FORWARDED_HOST, the DEBUG defaults), and a refusal is Django's answer to
  DisallowedHost (the security log line, handler400's JSON, SecurityMiddleware's
  headers), as a view gets it.
- At most one of each header an app registers with `refuse_repeated` (keys_app: its
  X-API-Key). The fast routes would read one value and Django (through WSGI, which also
  folds `X_API_KEY` into HTTP_X_API_KEY) a comma-joined other; a request that could mean
  two keys is refused instead, the same on every route.
"""

import io

from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.exception import response_for_exception
from django.http import HttpResponse, JsonResponse
from django.middleware.security import SecurityMiddleware

# The headers a request may carry once: {folded name: the name as documented}.
_single_headers: dict[bytes, str] = {}


def folded(name: bytes) -> bytes:
    """A header name as a WSGI environ, and so Django, reads it: any case, `_` as `-`."""
    return name.lower().replace(b"_", b"-")


def refuse_repeated(header: str) -> None:
    """Refuse every request that carries `header` more than once, in any spelling that
    WSGI folds into the same variable (an app calls this from its ready())."""
    _single_headers[folded(header.encode("latin-1"))] = header


class RequestGuard:
    """An ASGI application: `application` for the requests that pass, the refusal for
    the others."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            refusal = refusal_of(scope)
            if refusal is not None:
                return await send_response(send, refusal)
        return await self.application(scope, receive, send)


def refusal_of(scope) -> HttpResponse | None:
    """The answer refusing this request, or None when it may go on. Cheap and without
    the database: it runs on the event loop, for every request."""
    # Django's request, from Django's reading of the scope; no body is read. Without the
    # query string, which the Host does not depend on and which ASGIRequest would fail
    # to decode when it is not UTF-8 (Django on WSGI, behind the guard, takes it).
    request = ASGIRequest({**scope, "query_string": b""}, io.BytesIO())
    if repeated := repeated_header(scope):
        refusal = JsonResponse({"error": f"Send one {repeated} header"}, status=400)
        return with_security_headers(request, refusal)
    try:
        request.get_host()
    except DisallowedHost as error:
        return with_security_headers(request, response_for_exception(request, error))
    return None


def repeated_header(scope) -> str | None:
    """The first registered header the request carries more than once; None if none."""
    seen = set()
    for name, _ in scope["headers"]:
        name = folded(name)
        if name in _single_headers:
            if name in seen:
                return _single_headers[name]
            seen.add(name)
    return None


def with_security_headers(request, response: HttpResponse) -> HttpResponse:
    # What the outermost middleware adds to a view's refusal, from the settings that
    # make it (SECURE_*), not restated here. The inner ones never see a request refused
    # this early in Django either (CommonMiddleware raises DisallowedHost).
    return SecurityMiddleware(lambda request: response).process_response(request, response)


async def send_response(send, response: HttpResponse) -> None:
    body = response.content
    headers = [
        *((name.encode("latin-1"), value.encode("latin-1")) for name, value in response.items()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
