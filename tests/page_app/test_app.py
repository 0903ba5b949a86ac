"""The page as an installable app (page_app/app.py): its manifest with the share target,
its service worker, and a shared link kept through signing in. In a browser:
tests/page_app/browser/test_app.py."""

import json

import pytest
from django.http import QueryDict
from django.test import Client

from page_app import app
from tests.page_app.test_page import csrf_token, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("url=https://a.example/v?x=1&y=2", "https://a.example/v?x=1"),  # & splits the query
        ("url=https%3A%2F%2Fa.example%2Fv%3Fx%3D1%26y%3D2", "https://a.example/v?x=1&y=2"),
        # Android: the link in `text`, after the page's title; `url` empty.
        ("url=&text=Big+Buck+Bunny+https%3A%2F%2Fyoutu.be%2Fabc", "https://youtu.be/abc"),
        ("title=See+http%3A%2F%2Fb.example%2Fx.", "http://b.example/x"),
        ("text=(https%3A%2F%2Fb.example%2Fy)", "https://b.example/y"),
        ("url=javascript%3Aalert(1)&text=no+link+here", ""),
        ("text=ftp%3A%2F%2Fc.example%2Ff", ""),
        ("", ""),
    ],
)
def test_the_shared_url_is_the_first_http_url_of_url_text_and_title(query, expected):
    assert app.shared_url(QueryDict(query)) == expected


def test_the_manifest_names_its_icons_and_the_share_target(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon
    target = manifest["share_target"]
    assert target["action"] == "/" and target["method"] == "GET"
    assert target["params"] == {"url": "url", "text": "text", "title": "title"}


def test_the_service_worker_lists_the_page_s_files_only_and_changes_with_them(
    client, tmp_path, monkeypatch
):
    response = client.get("/service-worker.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assets = json.loads(text.split("const ASSETS = ")[1].split(";\n")[0])
    assert "/static/page/page.js" in assets and "/static/page/icons/icon-192.png" in assets
    assert all(asset.startswith("/static/page/") for asset in assets)
    # Another file's content, another version: the browser installs the worker again.
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "page.js").write_text("one")
    monkeypatch.setattr(app, "PAGE_STATIC", tmp_path)
    first = client.get("/service-worker.js").content
    (tmp_path / "page" / "page.js").write_text("two")
    assert client.get("/service-worker.js").content != first


def test_every_page_links_the_manifest_and_allows_only_its_own_worker(browser, make_key):
    sign_in_page = browser.get("/")
    _, secret = make_key("alice", ["get_video"])
    page = signed_in(browser, secret).get("/")
    for response in (sign_in_page, page):
        html = response.content.decode()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html
        assert 'data-worker="/service-worker.js"' in html
        policy = response["Content-Security-Policy"]
        assert "manifest-src 'self'" in policy and "worker-src 'self'" in policy


def test_a_shared_link_fills_the_field_of_a_signed_in_page(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    signed_in(browser, secret)
    html = browser.get("/", {"text": "Look https://v.example/a?b=1&c=2"}).content.decode()
    assert 'value="https://v.example/a?b=1&amp;c=2"' in html
    # The bookmarklet's link is built by links.js, from the address the browser sees.
    assert 'id="bookmarklet"' in html


def test_a_shared_link_survives_signing_in(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    html = browser.get("/", {"url": "https://v.example/a?b=1&c=2"}).content.decode()
    assert '<input type="hidden" name="url" value="https://v.example/a?b=1&amp;c=2">' in html
    token = csrf_token(browser)
    wrong = browser.post(
        "/sign_in", {"key": "wrong", "url": "https://v.example/x", "csrfmiddlewaretoken": token}
    )
    assert 'name="url" value="https://v.example/x"' in wrong.content.decode()  # still kept
    response = browser.post(
        "/sign_in",
        {"key": secret, "url": "https://v.example/a?b=1&c=2", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert response["Location"] == "/?url=https%3A%2F%2Fv.example%2Fa%3Fb%3D1%26c%3D2"
    assert (
        'value="https://v.example/a?b=1&amp;c=2"'
        in browser.get(response["Location"]).content.decode()
    )


def test_signing_in_without_a_shared_link_opens_the_page_as_before(browser, make_key):
    _, secret = make_key("alice", ["get_video"])
    token = csrf_token(browser)
    response = browser.post(
        "/sign_in", {"key": secret, "url": "not a link", "csrfmiddlewaretoken": token}
    )
    assert response["Location"] == "/"
