"""The OpenAPI schema: served at /openapi.json, complete, valid, and true to the service.

The e2e tests run schemathesis against the running stack (gunicorn, as in production):
every response must be documented (status code, content type, body and headers), and no
request may end in a 5xx.
"""

import copy
import os
import re
from collections import Counter, defaultdict

import pytest
import requests
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings

from downloads_app import urls as downloads_urls
from keys_app import urls as keys_urls
from keys_app.models import PERMISSIONS
from subscriptions_app import urls as subscriptions_urls
from tests.support.stack import LiveStack

# Examples per operation in the fuzzing phase; OPENAPI_FUZZ_EXAMPLES=500 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "25"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]


def api_operations() -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route of the keys, downloads and subscriptions
    apps."""
    operations = set()
    patterns = keys_urls.urlpatterns + downloads_urls.urlpatterns + subscriptions_urls.urlpatterns
    for pattern in patterns:
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        view = pattern.callback.view_class
        for method in view.http_method_names:
            if method not in ("options", "head") and hasattr(view, method):
                operations.add((path, method))
    return operations


def test_the_schema_is_served_without_a_key_and_documents_every_route(client):
    response = client.get("/openapi.json", HTTP_X_API_KEY="not-a-key")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "ytdlphost"
    documented = {(path, method) for path, item in schema["paths"].items() for method in item}
    # 13, and /tasks, /cancel, /retry, /delete_task, /get_playlist; 6 of /subscriptions;
    # /presets
    assert len(api_operations()) == 25
    assert api_operations() <= documented
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schema["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }


def test_the_schema_lists_every_error_code(client):
    from downloads_app.errors import ErrorCode

    schema = client.get("/openapi.json").json()
    properties = schema["components"]["schemas"]["TaskStatus"]["properties"]
    assert {"error_code", "retry_after"} <= properties.keys()
    codes = {
        value
        for name, component in schema["components"]["schemas"].items()
        if name.startswith("ErrorCode")
        for value in component.get("enum", [])
    }
    assert codes == set(ErrorCode.values)


def test_the_schema_says_which_routes_need_a_key(client):
    paths = client.get("/openapi.json").json()["paths"]
    # X-API-Key, or the web page's session (with its CSRF token)
    key_or_session = [{"ApiKeyAuth": []}, {"SessionAuth": []}]
    assert paths["/get_video"]["post"]["security"] == key_or_session
    assert paths["/status/{task_id}"]["get"]["security"] == key_or_session
    assert "security" not in paths["/files/{task_id}/{name}"]["get"]  # a capability URL


def test_request_bodies_refuse_unknown_fields(client):
    schema = client.get("/openapi.json").json()
    for path, method in api_operations():
        body = schema["paths"][path][method].get("requestBody")
        if body:
            ref = body["content"]["application/json"]["schema"]["$ref"]
            component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            assert component["additionalProperties"] is False, path


def test_the_swagger_ui_works_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in asset for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset  # nothing from a CDN
        assert client.get(asset).status_code == 200, asset


def test_drf_spectacular_validates_the_schema_without_warnings(tmp_path):
    # Raises (SchemaGenerationError, or jsonschema's ValidationError) on any warning or
    # on a document that is not valid OpenAPI 3.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3.")


# --- schemathesis against the running stack ---------------------------------------------

FUZZ_KEY_NAME = "openapi-fuzzer-4f1c9b"
# Status codes per operation, seen while fuzzing (checked by the test after it).
SEEN: dict[str, Counter] = defaultdict(Counter)


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    # No worker (clusters=0): generated task URLs are never fetched, whatever they are.
    # Private URLs refused, so validation resolves hosts as in production; a high limit
    # so the rate limit does not answer most task requests.
    env = {"ALLOW_PRIVATE_URLS": "false", "REQUEST_LIMIT": "100000"}
    with LiveStack(tmp_path_factory.mktemp("openapi"), env=env, clusters=0) as stack:
        served = requests.get(f"{stack.base_url}/openapi.json", timeout=10)
        assert served.json() == SCHEMA  # what is fuzzed is what the stack serves
        yield stack


@pytest.fixture(scope="module")
def fuzz_key(fuzz_stack):
    """A key holding every permission, with a name the fuzzer will not guess.

    schemathesis calls DELETE /delete_key/{name} too; the seeded admin key may go (the
    fuzz key also holds create_key), the fuzz key itself is not found by chance.
    """
    return fuzz_stack.create_key(FUZZ_KEY_NAME, PERMISSIONS)


def served_schema() -> dict:
    """/openapi.json as this process serves it (the stack serves the same document)."""
    from django.test import Client

    return Client().get("/openapi.json").json()


# Loaded when the module is collected, since schemathesis turns every operation into a
# test item; the stack it runs against starts later (from_fixture would load it then,
# but schemathesis 4.32's lazy loader does not work with pytest 9.2).
SCHEMA = served_schema()
fuzzed = schemathesis.openapi.from_dict(
    copy.deepcopy(SCHEMA),
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                # The fuzz key is sent with every request instead.
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "request-timeout": 30,
        }
    ),
)


def call_and_validate(case, stack, key):
    """Send the case with this key (None: without one); fail on any check's failure."""
    from schemathesis.checks import CHECKS as REGISTRY

    headers = {"X-API-Key": key} if key is not None else {}
    return case.call_and_validate(
        base_url=stack.base_url, headers=headers, checks=REGISTRY.get_by_names(CHECKS)
    )


@pytest.mark.e2e
@fuzzed.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_running_service_conforms_to_its_schema(case, fuzz_stack, fuzz_key):
    response = call_and_validate(case, fuzz_stack, fuzz_key)
    if case.method.upper() == case.operation.method.upper():  # not an unexpected-method probe
        SEEN[case.operation.label][response.status_code] += 1


@pytest.mark.e2e
def test_its_success_and_auth_answers_conform_too(fuzz_stack, fuzz_key):
    """What fuzzing cannot reach: generated task URLs fail validation (their hosts do not
    resolve), and every generated request carries the fuzz key. The URL here is a public
    IP literal, so nothing is resolved; no worker runs, so nothing is fetched."""
    url = "http://1.1.1.1/video.mp4"
    bodies = {
        "/get_video": {"url": url, "output_format": "mp4", "start_time": "00:01", "end_time": 5},
        "/get_audio": {"url": url, "audio_format": "ba", "output_format": None},
        "/get_live_video": {"url": url, "duration": 5, "start": "30"},
        "/get_live_audio": {"url": url, "duration": 2.5, "output_format": "opus"},
        "/get_info": {"url": url},
    }
    for path, body in bodies.items():
        created = call_and_validate(fuzzed[path]["POST"].Case(body=body), fuzz_stack, fuzz_key)
        assert created.status_code == 200, created.text
        status = fuzzed["/status/{task_id}"]["GET"].Case(
            path_parameters={"task_id": created.json()["task_id"]}
        )
        assert call_and_validate(status, fuzz_stack, fuzz_key).json()["status"] == "waiting"

    # A key with one task per window and only get_info: 201, then 200, 429 and 403.
    create = fuzzed["/create_key"]["POST"].Case(
        body={"name": "openapi-limited", "permissions": ["get_info"], "request_limit": 1}
    )
    limited = call_and_validate(create, fuzz_stack, fuzz_key).json()["key"]
    get_info = fuzzed["/get_info"]["POST"].Case(body={"url": url})
    assert call_and_validate(get_info, fuzz_stack, limited).status_code == 200
    refused = call_and_validate(get_info, fuzz_stack, limited)
    assert refused.status_code == 429
    assert refused.headers["ratelimit-remaining"] == ["0"]
    me = call_and_validate(fuzzed["/me"]["GET"].Case(), fuzz_stack, limited).json()
    assert (me["name"], me["request_limit"], me["remaining"]) == ("openapi-limited", 1, 0)
    get_keys = fuzzed["/get_keys"]["GET"].Case()
    assert call_and_validate(get_keys, fuzz_stack, limited).status_code == 403
    check = fuzzed["/check_permissions"]["POST"].Case(body={"permissions": ["get_keys"]})
    assert call_and_validate(check, fuzz_stack, limited).status_code == 403
    # Without a key, or with a wrong one: 401.
    assert call_and_validate(get_keys, fuzz_stack, None).status_code == 401
    assert call_and_validate(get_keys, fuzz_stack, "not-a-key").status_code == 401
    assert call_and_validate(get_keys, fuzz_stack, fuzz_key).status_code == 200


@pytest.mark.e2e
def test_the_fuzzer_was_authenticated(fuzz_stack, fuzz_key):
    if not SEEN:
        pytest.skip("runs after test_the_running_service_conforms_to_its_schema")
    assert len(SEEN) == len(api_operations())
    for operation, statuses in SEEN.items():
        assert set(statuses) - {401}, f"{operation} only answered {dict(statuses)}"
    response = requests.get(
        f"{fuzz_stack.base_url}/get_key/{FUZZ_KEY_NAME}",
        headers={"X-API-Key": fuzz_key},
        timeout=10,
    )
    assert response.status_code == 200
