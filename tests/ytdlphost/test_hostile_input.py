"""Hostile and malformed input: every field of every endpoint, given the wrong thing,
answers a clear 4xx JSON error and never a 5xx."""

import pytest

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/v.mp4"

VALID = {
    "/get_video": {"url": URL, "video_format": "bv", "audio_format": "ba", "output_format": "mp4",
                   "start_time": 1, "end_time": 2, "force_keyframes": False},
    "/get_audio": {"url": URL, "audio_format": "ba", "output_format": "mp3", "start_time": 1,
                   "end_time": 2, "force_keyframes": True},
    "/get_live_video": {"url": URL, "start": 0, "duration": 5, "video_format": "bv",
                        "audio_format": "ba", "output_format": "mkv"},
    "/get_live_audio": {"url": URL, "start": 0, "duration": 5, "audio_format": "ba",
                        "output_format": "opus"},
    "/get_info": {"url": URL},
    "/create_key": {"name": "fuzzed", "permissions": ["get_info"], "request_limit": 5},
    "/check_permissions": {"permissions": ["get_info"]},
}  # fmt: skip

WRONG_VALUES = [
    None, True, 0, -1, 1.5, 10**30, "", " ", "x" * 5000, "\x00", "\u202e\u0007",
    "😀" * 10, [], ["a"], {}, {"nested": {"deeper": [1, 2, {"x": None}]}}, "../../etc/passwd",
    "%2e%2e%2f", "${jndi:ldap://x}", "'; DROP TABLE keys_app_apikey; --",
]  # fmt: skip

CASES = [
    (endpoint, field, value)
    for endpoint, body in VALID.items()
    for field in body
    for value in WRONG_VALUES
]

# Odd but valid, and accepted on purpose: a format selector is any text yt-dlp may parse
# (numbers are read as text), times are non-negative numbers, and null, [] or the other
# boolean are legitimate values of their fields.
ODD_SELECTORS = [
    0, -1, 1.5, 10**30, "😀" * 10, "../../etc/passwd", "%2e%2e%2f", "${jndi:ldap://x}",
    "'; DROP TABLE keys_app_apikey; --",
]  # fmt: skip
CLIPS = ("/get_video", "/get_audio")
LIVE = ("/get_live_video", "/get_live_audio")
ACCEPTED = {
    **{
        (endpoint, field): ODD_SELECTORS
        for endpoint, body in VALID.items()
        for field in body
        if field in ("video_format", "audio_format")
    },
    **{(endpoint, "output_format"): [None] for endpoint in VALID if endpoint != "/get_info"},
    **{(endpoint, "start_time"): [0, 1.5] for endpoint in ("/get_video", "/get_audio")},
    **{(endpoint, "end_time"): [1.5, 10**30] for endpoint in ("/get_video", "/get_audio")},
    **{(endpoint, "force_keyframes"): [True] for endpoint in ("/get_video", "/get_audio")},
    **{
        (endpoint, "start"): [0, 1.5, 10**30] for endpoint in ("/get_live_video", "/get_live_audio")
    },
    **{(endpoint, "duration"): [1.5] for endpoint in ("/get_live_video", "/get_live_audio")},
    ("/create_key", "name"): [0, -1, 1.5, 10**30],
    ("/create_key", "permissions"): [[]],
    ("/create_key", "request_limit"): [None],
    ("/check_permissions", "permissions"): [[]],
}


def accepted(endpoint, field, value) -> bool:
    return any(
        value == odd and type(value) is type(odd) for odd in ACCEPTED.get((endpoint, field), [])
    )


@pytest.fixture
def fuzz_client(make_key, client_for, monkeypatch):
    from downloads_app import lifecycle

    monkeypatch.setattr(lifecycle, "enqueue", lambda task_id: None)
    from keys_app.models import PERMISSIONS

    _, secret = make_key("fuzzer", PERMISSIONS)
    return client_for(secret)


def test_the_valid_bodies_are_accepted(fuzz_client):
    for endpoint, body in VALID.items():
        response = fuzz_client.post(endpoint, body, format="json")
        assert response.status_code in (200, 201), (endpoint, response.json())


@pytest.mark.parametrize(("endpoint", "field", "value"), CASES)
def test_a_wrong_value_in_any_field_is_a_clear_4xx(fuzz_client, endpoint, field, value):
    body = {**VALID[endpoint], field: value}
    response = fuzz_client.post(endpoint, body, format="json")
    assert response["Content-Type"] == "application/json"
    if accepted(endpoint, field, value):
        assert response.status_code in (200, 201), response.json()
    else:
        assert 400 <= response.status_code < 500
        assert isinstance(response.json()["error"], str) and response.json()["error"]


@pytest.mark.parametrize("endpoint", VALID)
def test_unknown_fields_are_refused(fuzz_client, endpoint):
    response = fuzz_client.post(endpoint, {**VALID[endpoint], "surprise": 1}, format="json")
    assert response.status_code == 400
    assert "surprise" in response.json()["error"]


@pytest.mark.parametrize("endpoint", VALID)
@pytest.mark.parametrize(
    "raw",
    [
        '{"url": ',
        "null",
        "[]",
        '"text"',
        "1e999",
        '{"a":' * 5000,
        "\xff\xfe",
        "",
        '{"url": NaN}',
        '{"start_time": Infinity, "url": "http://a.b"}',
    ],
)
def test_malformed_bodies_are_a_clear_4xx(fuzz_client, endpoint, raw):
    response = fuzz_client.post(
        endpoint, data=raw.encode("latin-1"), content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


@pytest.mark.parametrize(
    "path",
    ["/status/" + "a" * 5000, "/get_key/" + "%00", "/files/%00/%00", "/status/%F0%9F%98%80",
     "/delete_key/..%2f..", "/get_key/" + "x" * 3000],
)  # fmt: skip
def test_hostile_paths_are_a_clear_4xx(fuzz_client, path):
    response = fuzz_client.delete(path) if "delete" in path else fuzz_client.get(path)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


def test_a_huge_header_key_is_simply_invalid(client_for):
    response = client_for("k" * 10000).post(
        "/check_permissions", {"permissions": []}, format="json"
    )
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/get_key/a%00b", "/status/%00", "/files/%00/x", "/files/x/%00"])
def test_a_nul_byte_in_a_path_never_reaches_the_database(fuzz_client, path):
    # PostgreSQL rejects NUL in text with an error: the route itself must not match.
    response = fuzz_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}
