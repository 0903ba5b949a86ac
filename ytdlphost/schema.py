"""Pieces of the OpenAPI schema (drf-spectacular) shared by both apps.

The schema is served at /openapi.json. Views declare their bodies and status codes with
@extend_schema; these helpers describe what every view has in common: the error body,
and request bodies that refuse unknown fields (ytdlphost/validation.py).
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = serializers.CharField()


ERROR_DESCRIPTIONS = {
    400: "Bad input; the message names the field.",
    401: "No API key provided, or an invalid one.",
    403: "The key lacks the endpoint's permission.",
    404: "Not found.",
    409: "Conflict.",
    410: "Gone: it existed, and was removed.",
    413: "Request body too large.",
    415: "The request body is not JSON.",
    416: "The range is not satisfiable.",
    429: "Rate limit exceeded; Retry-After says when to try again.",
    503: "A service it depends on failed; retry later.",
}

# What any endpoint that reads a JSON body can answer besides its own codes.
BODY_ERRORS = (400, 413, 415)


def error_responses(*codes: int, **descriptions: str) -> dict:
    """{code: Error response} for extend_schema(responses=...).

    descriptions override the generic text per code: error_responses(404, e404="...").
    """
    return {
        code: OpenApiResponse(
            ErrorSerializer, description=descriptions.get(f"e{code}", ERROR_DESCRIPTIONS[code])
        )
        for code in codes
    }


# Answered by the web server itself (uvicorn, with httptools), before the request reaches
# Django: plain text, not JSON.
FRONT_END_ERRORS = {
    "400": "Or, from the web server itself, as plain text (`Invalid HTTP request "
    "received.`): a request it cannot parse, such as a malformed request line or header.",
}


def document_front_end_errors(result, generator, request, public):
    """Postprocessing hook: the web server's own refusals on every operation, next to
    whatever JSON answer the operation documents under the same code."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for code, description in FRONT_END_ERRORS.items():
                response = operation["responses"].get(code)
                if response is None:
                    response = operation["responses"][code] = {"description": description}
                else:
                    response["description"] = f"{response['description']} {description}"
                plain_text = {"schema": {"type": "string"}}
                response.setdefault("content", {})["text/plain"] = plain_text
    return result


def forbid_unknown_request_fields(result, generator, request, public):
    """Postprocessing hook: `additionalProperties: false` on every request body component.

    validated() refuses fields a serializer does not declare, so a client (or a fuzzer)
    must not be told that extra fields are allowed.
    """
    components = result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type in content.values():
                ref = media_type.get("schema", {}).get("$ref", "")
                name = ref.rsplit("/", 1)[-1]
                if name in components:
                    components[name]["additionalProperties"] = False
    return result
