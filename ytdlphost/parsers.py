import json

from django.conf import settings
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"


def _refuse_constant(name):
    # NaN and Infinity are not JSON, though Python's json module accepts them.
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(parsers.JSONParser):
    """JSONParser that reads at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes.

    DRF hands the raw request stream to its parser, so Django's own body size limit does
    not apply; and a deeply nested document makes json.loads raise RecursionError, which
    must be a 400, not a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"Request body too large (limit {limit} bytes)")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            # Where it broke, so the sender can find it in what it sent.
            raise exceptions.ParseError(
                f"Malformed JSON body: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from exc
        # LookupError: a charset that names no text encoding (charset=base64).
        except (ValueError, UnicodeDecodeError, RecursionError, LookupError) as exc:
            raise exceptions.ParseError("Malformed JSON body") from exc
