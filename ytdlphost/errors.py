"""One shape for every error: a JSON object with an `error` string.

DRF errors pass through api_exception_handler; so do the services' refusals (the project's
own exceptions, ytdlphost/exceptions.py), which become HTTP answers here and nowhere else
(STATUS_OF); errors that happen outside DRF views (unknown routes, Django's own
400/403/500) go through the json_* handlers in urls.py.
Unexpected exceptions are logged with their traceback and answered with a generic 500.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from ytdlphost import exceptions as service_exceptions

logger = logging.getLogger("ytdlphost.errors")


def flatten_detail(detail) -> str:
    """A readable one-line message from DRF's nested error detail."""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            message = flatten_detail(value)
            parts.append(message if field == "non_field_errors" else f"{field}: {message}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(flatten_detail(item) for item in detail)
    return str(detail)


def error_response(message: str, status_code: int, headers=None) -> Response:
    return Response({"error": message}, status=status_code, headers=headers)


# The HTTP status of each of the services' refusals.
STATUS_OF = {
    service_exceptions.NotFound: status.HTTP_404_NOT_FOUND,
    service_exceptions.NotPermitted: status.HTTP_403_FORBIDDEN,
    service_exceptions.Conflict: status.HTTP_409_CONFLICT,
    service_exceptions.Invalid: status.HTTP_400_BAD_REQUEST,
    service_exceptions.LimitReached: status.HTTP_429_TOO_MANY_REQUESTS,
}


def service_error_response(exc: service_exceptions.ServiceError) -> Response:
    """A service's refusal as DRF answers its own exceptions: the status, Retry-After for
    a limit, and the view's transaction rolled back."""
    status_code = next(code for kind, code in STATUS_OF.items() if isinstance(exc, kind))
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(int(retry_after))} if retry_after else None
    set_rollback()
    return error_response(str(exc), status_code, headers)


def api_exception_handler(exc, context):
    if isinstance(exc, service_exceptions.ServiceError):
        return service_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response("Request body too large", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception("Unhandled error in %s", type(view).__name__ if view else "a view")
        return error_response("Internal server error", status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ParseError):
        # Our parser's message says where the body broke; DRF's own (other parsers) does
        # not read well.
        detail = str(exc.detail)
        message = detail if detail.startswith("Malformed JSON body") else "Malformed JSON body"
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        message = "Request body must be JSON (Content-Type: application/json)"
    else:
        message = flatten_detail(getattr(exc, "detail", str(exc)))
    response.data = {"error": message}
    return response


def json_bad_request(request, exception=None):
    return JsonResponse({"error": "Bad request"}, status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse({"error": "Forbidden"}, status=403)


def json_not_found(request, exception=None):
    return JsonResponse({"error": "Not found"}, status=404)


def json_server_error(request):
    return JsonResponse({"error": "Internal server error"}, status=500)
