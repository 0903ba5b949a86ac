"""The headers Django's request cycle gives a view's answer, for a fast route's answer of
the same request (ytdlphost/fast_path.py) to carry them too: derived from the code that
adds them for the view (the middleware of settings.MIDDLEWARE, the view's DRF class), with
the settings that code reads, never restated. Change SECURE_REFERRER_POLICY or
X_FRAME_OPTIONS, or remove a middleware, and both paths follow (issue 21).

Computed once per route and per scheme, and again after a setting changes (tests'
override_settings): a fast route costs a dictionary look-up for them, not the middleware.
"""

import functools
import io
import re
from dataclasses import dataclass

from django.core.handlers.asgi import ASGIRequest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.http import parse_header_parameters
from django.utils.module_loading import import_string
from rest_framework.exceptions import NotAcceptable
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

Headers = tuple[tuple[bytes, bytes], ...]

# The middleware that add headers to every answer, whatever the view and the request
# (the others of settings.MIDDLEWARE add theirs only when a view reads the session or the
# CSRF cookie: the /tasks fast route adds those itself, downloads_app/fast_routes/sessions.py).
# A fast answer gets what their process_response adds, when settings.MIDDLEWARE has them.
EVERY_ANSWER_MIDDLEWARE = frozenset(
    {
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    }
)


def encoded(response: HttpResponse) -> Headers:
    """A response's headers as an ASGI answer sends them (names in lower case)."""
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.items()
    )


def is_secure(scope) -> bool:
    """Whether Django takes this request for HTTPS (the scheme, or SECURE_PROXY_SSL_HEADER):
    SecurityMiddleware's Strict-Transport-Security depends on it."""
    return ASGIRequest({**scope, "query_string": b""}, io.BytesIO()).is_secure()


def no_view(request):
    raise AssertionError("only the middleware's process_response is run")


@functools.cache
def middleware_headers(secure: bool) -> Headers:
    """What the middleware of EVERY_ANSWER_MIDDLEWARE add to an answer, in the order
    Django's handler runs their process_response (the last listed first)."""
    from django.conf import settings

    request = HttpRequest()
    request.is_secure = lambda: secure
    response = HttpResponse()
    del response.headers["Content-Type"]
    for path in reversed(settings.MIDDLEWARE):
        if path in EVERY_ANSWER_MIDDLEWARE:
            middleware = import_string(path)(no_view)
            response = middleware.process_response(request, response)
    return encoded(response)


@functools.cache
def view_class_headers(route: str) -> Headers:
    """What the view answering `route` (a fast route's, `status/<segment:task_id>`) adds
    itself to every answer: a DRF view's default_response_headers (Allow; Vary: Accept
    with more than one renderer). Nothing for a plain Django view."""
    sample = "/" + re.sub(r"<[^>]+>", "x", route)  # a path of the route, to resolve
    match = resolve(sample)
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, APIView):
        return ()
    view = view_class(**match.func.view_initkwargs)
    view.setup(None)  # as as_view does: GET's handler also answers HEAD
    response = HttpResponse()
    del response.headers["Content-Type"]
    for name, value in view.default_response_headers.items():
        response[name] = value
    return encoded(response)


def route_headers_of(route: str, scope) -> Headers:
    """Every header a view answering `route` carries whatever it answers, for the request
    of `scope`: its class's and the middleware's."""
    if not scheme_matters():  # telling the scheme costs a request object: only if needed
        return route_headers(route, False)
    return route_headers(route, is_secure(scope))


@functools.cache
def scheme_matters() -> bool:
    """Whether the middleware add other headers to an answer over HTTPS (HSTS)."""
    return middleware_headers(True) != middleware_headers(False)


@functools.cache
def route_headers(route: str, secure: bool) -> Headers:
    """route_headers_of, for a request over HTTPS or not."""
    return view_class_headers(route) + middleware_headers(secure)


@functools.cache
def json_renderer():
    """The renderer of an API view's answers (REST_FRAMEWORK's DEFAULT_RENDERER_CLASSES;
    the views name no other)."""
    return api_settings.DEFAULT_RENDERER_CLASSES[0]()


@functools.cache
def json_content_type() -> bytes:
    """The Content-Type DRF gives an answer json_renderer rendered, from DRF's own
    Response."""
    renderer = json_renderer()
    response = Response({})
    response.accepted_renderer = renderer
    response.accepted_media_type = renderer.media_type
    response.renderer_context = {}
    response.render()
    return response["Content-Type"].encode("latin-1")


@dataclass(frozen=True)
class NegotiatedRequest:
    """What DRF's content negotiation reads of a request."""

    headers: dict  # names in lower case; DRF reads `accept`
    query_params: dict


def negotiates_plain_json(accept: str | None, query: dict) -> bool:
    """Whether DRF's content negotiation (DEFAULT_CONTENT_NEGOTIATION_CLASS) of a request
    with this Accept and query picks json_renderer, for a body it renders as it does
    without an Accept."""
    return negotiated_plain_json(accept, query.get(api_settings.URL_FORMAT_OVERRIDE))


# Kept: a client sends the same Accept on every request, and negotiating builds DRF's
# negotiator and parses the Accept, some 20 µs a request.
@functools.lru_cache(maxsize=256)
def negotiated_plain_json(accept: str | None, format_asked: str | None) -> bool:
    renderer = json_renderer()
    query = {} if format_asked is None else {api_settings.URL_FORMAT_OVERRIDE: format_asked}
    request = NegotiatedRequest({"accept": accept} if accept is not None else {}, query)
    try:
        _, media_type = api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS().select_renderer(
            request, [renderer]
        )
    except (NotAcceptable, Http404):
        return False
    # The media type the renderer is handed: a range's parameters other than q (indent=4)
    # change the body, which only the view renders.
    _, parameters = parse_header_parameters(media_type)
    return not parameters.keys() - {"q"}


def render_json(data) -> bytes:
    return json_renderer().render(data)


@receiver(setting_changed)
def forget_headers(**kwargs) -> None:
    # Settings change in tests only (override_settings); in service they are read once.
    for cached in (middleware_headers, view_class_headers, route_headers, scheme_matters,
                   json_renderer, json_content_type, negotiated_plain_json):  # fmt: skip
        cached.cache_clear()
