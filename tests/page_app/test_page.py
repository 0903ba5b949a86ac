"""The web page at /: sign-in, sign-out, what it offers, and its headers."""

import json
import re

import pytest
from django.test import Client

from keys_app.models import AdminLoginFailure, APIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    """A client that, like a browser, sends back the CSRF token it was given."""
    return Client(enforce_csrf_checks=True)


def csrf_token(client) -> str:
    client.get("/")
    return client.cookies["csrftoken"].value


def signed_in(browser, secret):
    response = browser.post("/sign_in", {"key": secret, "csrfmiddlewaretoken": csrf_token(browser)})
    assert response.status_code == 302
    return browser


def offered(response) -> list[dict]:
    html = response.content.decode()
    data = html.split('<script id="task-types" type="application/json">')[1].split("</script>")[0]
    return json.loads(data)


def offered_types(response) -> list[str]:
    return [option["label"] for option in offered(response)]


def test_it_shows_the_sign_in_form_to_a_stranger(browser):
    response = browser.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="key">API key</label>' in html
    assert ">Sign in</button>" in html
    assert "task-types" not in html


def test_it_signs_in_with_a_valid_key_kept_in_an_httponly_lax_session(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    token = csrf_token(browser)
    response = browser.post("/sign_in", {"key": secret, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP: a LAN deployment still works
    assert secret not in response["Location"]
    page = browser.get("/")
    assert "Signed in as <strong>alice</strong>" in page.content.decode()
    assert secret not in page.content.decode()


def test_the_session_cookie_is_secure_over_https(make_key):
    _, secret = make_key("alice", ["get_video"])
    browser = Client(enforce_csrf_checks=True)
    browser.get("/", secure=True)
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/sign_in",
        {"key": secret, "csrfmiddlewaretoken": token},
        secure=True,
        headers={"Referer": "https://testserver/"},
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"]


def test_it_refuses_a_wrong_key_next_to_the_field(browser, make_key):
    make_key("alice", ["get_video"])
    response = browser.post("/sign_in", {"key": "nope", "csrfmiddlewaretoken": csrf_token(browser)})
    assert response.status_code == 400
    assert 'id="key-error">This API key is not valid.' in response.content.decode()
    assert "sessionid" not in response.cookies or not response.cookies["sessionid"].value


def test_sign_in_without_the_csrf_token_is_refused(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    response = browser.post("/sign_in", {"key": secret})
    assert response.status_code == 403
    assert "sessionid" not in response.cookies


def test_sign_out_ends_the_session(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    signed_in(browser, secret)
    token = browser.cookies["csrftoken"].value
    assert browser.post("/sign_out", {"csrfmiddlewaretoken": token}).status_code == 302
    assert "API key" in browser.get("/").content.decode()
    assert browser.get("/tasks").status_code == 401


def test_a_deleted_key_signs_the_page_out_and_says_why(browser, make_key):
    api_key, secret = make_key("alice", ["get_video"])
    signed_in(browser, secret)
    APIKey.objects.filter(pk=api_key.pk).delete()
    response = browser.get("/")
    html = response.content.decode()
    assert '<label for="key">API key</label>' in html
    assert "this API key no longer exists" in html


def test_it_offers_only_the_types_the_key_may_start(browser, make_key):
    _, secret = make_key("bob", ["get_video", "get_live_video", "get_info"])
    response = signed_in(browser, secret).get("/")
    assert offered_types(response) == ["Video", "Live video", "Info", "Playlist"]


def test_it_offers_every_type_to_a_key_holding_them_all(browser, make_key):
    _, secret = make_key("root")
    response = signed_in(browser, secret).get("/")
    assert offered_types(response) == [
        "Video",
        "Audio",
        "Live video",
        "Live audio",
        "Info",
        "Playlist",
    ]


def test_a_playlist_offers_the_entry_types_the_key_may_start_with_their_fields(browser, make_key):
    _, secret = make_key("listener", ["get_audio"])
    types = offered(signed_in(browser, secret).get("/"))
    assert [option["type"] for option in types] == ["get_audio", "get_playlist"]
    playlist = types[1]
    assert playlist["endpoint"] == "/get_playlist"
    assert playlist["entry_types"] == [{"value": "audio", "type": "get_audio", "label": "Audio"}]
    assert {"url", "type", "items", "output_format", "start_time", "end_time"} <= set(
        playlist["fields"]
    )
    assert "webhook_url" not in playlist["fields"]


def test_a_key_that_may_start_neither_video_nor_audio_is_not_offered_a_playlist(browser, make_key):
    _, secret = make_key("recorder", ["get_live_video", "get_live_audio", "get_info"])
    response = signed_in(browser, secret).get("/")
    assert offered_types(response) == ["Live video", "Live audio", "Info"]


@pytest.mark.parametrize("signed", [False, True])
def test_page_responses_carry_the_security_headers(browser, make_key, signed):
    if signed:
        _, secret = make_key("alice", ["get_video"])
        signed_in(browser, secret)
    response = browser.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_page_has_no_inline_script_and_loads_its_own_files(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    html = signed_in(browser, secret).get("/").content.decode()
    scripts = html.split("<script")[1:]
    assert scripts
    for script in scripts:
        assert ' src="/static/' in script.split(">")[0] or 'type="application/json"' in script
    assert "http://" not in html and "https://" not in html.replace("https://…", "")
    assert "style=" not in html


def test_the_subscriptions_section_is_offered_only_to_a_key_holding_subscribe(browser, make_key):
    _, follower = make_key("follower", ["subscribe", "get_audio"])
    html = signed_in(browser, follower).get("/").content.decode()
    assert 'id="subscriptions-heading"' in html and "/static/page/subscriptions.js" in html
    assert '<option value="get_audio">Audio</option>' in html
    assert '<option value="get_video">' not in html.split('id="sub-type"')[1].split("</select>")[0]
    _, alice = make_key("alice", ["get_video"])
    plain = signed_in(Client(enforce_csrf_checks=True), alice).get("/").content.decode()
    assert "subscriptions" not in plain


def test_the_static_files_are_served(client):
    for path in ("/static/page/page.js", "/static/page/page.css", "/static/page/subscriptions.js"):
        response = client.get(path)
        assert response.status_code == 200, path


def test_every_module_of_the_page_is_served_as_javascript(client):
    # A browser runs an ES module only when it comes with a JavaScript content type.
    served, waiting = set(), ["page.js", "install.js"]  # install.js: on every page
    while waiting:
        name = waiting.pop()
        response = client.get(f"/static/page/{name}")
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/javascript"), name
        served.add(name)
        imported = re.findall(r'from "\./([\w.]+\.js)"', response.getvalue().decode())
        waiting += [module for module in imported if module not in served]
    assert {"page.js", "api.js", "display.js", "form.js", "task_list.js", "task_rows.js"} <= served
    assert {"links.js", "presets.js"} <= served


def test_signing_in_rotates_the_csrf_token(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    before = csrf_token(browser)
    signed_in(browser, secret)
    # A token planted or read before signing in is worthless afterwards, as after
    # Django's own login.
    assert browser.cookies["csrftoken"].value != before


def test_guessing_keys_is_throttled_like_the_admin_login_by_address(browser, make_key, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 5
    _, secret = make_key("alice", ["get_video"])
    for _ in range(5):
        wrong = browser.post(
            "/sign_in", {"key": "x" * 43, "csrfmiddlewaretoken": csrf_token(browser)}
        )
        assert wrong.status_code == 400
    refused = browser.post("/sign_in", {"key": secret, "csrfmiddlewaretoken": csrf_token(browser)})
    assert refused.status_code == 429  # even the right key, until the failures age
    assert "Too many failed login attempts" in refused.content.decode()
    assert "even with the right key" in refused.content.decode()
    assert "task-types" not in browser.get("/").content.decode()  # not signed in
    # Another address is not locked out by this one's guesses.
    signed_in(Client(enforce_csrf_checks=True, REMOTE_ADDR="10.0.0.2"), secret)


def test_a_successful_sign_in_leaves_no_failure_counted(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    browser.post("/sign_in", {"key": "x" * 43, "csrfmiddlewaretoken": csrf_token(browser)})
    signed_in(browser, secret)
    assert AdminLoginFailure.objects.count() == 1  # the wrong key's attempt only
