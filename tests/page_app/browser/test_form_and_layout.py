"""The web page's form and layout in a real browser, against the real stack (gunicorn +
qcluster) and the local media server: the types a key is offered, refusals shown at their
fields, fields that no longer apply, the CSRF token, a deleted key signing the page out,
the phone's width and the admin's lists; the page as an installable app, a link shared to
it, and the bookmarklet.

Each test saves a desktop and a phone screenshot under test-artifacts/page/.
"""

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.support.browser import (
    ARTIFACTS,
    PHONE,
    SLOW,
    new_page,
    screenshots,
    sign_in,
    start,
    task_item,
)

pytestmark = pytest.mark.e2e


def offered_types(browser, stack, name, permissions) -> tuple[list[str], list[str]]:
    """The types a key is offered, and what a playlist's items may be (none: no Playlist)."""
    key = stack.create_key(name, permissions)
    with new_page(browser) as page:
        sign_in(page, stack, key)
        offered = page.get_by_label("Type").locator("option").all_inner_texts()
        entry_types = []
        if "Playlist" in offered:
            page.get_by_label("Type").select_option(label="Playlist")
            entry_types = page.get_by_label("Each item as").locator("option").all_inner_texts()
            assert page.get_by_label("Items", exact=True).is_visible()
            assert not page.get_by_role("button", name="Look up qualities").is_visible()
        screenshots(page, name)
    return offered, entry_types


def test_a_key_without_get_audio_is_not_offered_audio(browser, stack):
    offered, entry_types = offered_types(browser, stack, "video-only", ["get_video", "get_info"])
    assert offered == ["Video", "Info", "Playlist"]
    assert entry_types == ["Video"]


def test_a_key_without_get_video_or_get_audio_is_not_offered_a_playlist(browser, stack):
    permissions = ["get_live_video", "get_live_audio", "get_info"]
    offered, _ = offered_types(browser, stack, "recorder", permissions)
    assert offered == ["Live video", "Live audio", "Info"]


def test_a_playlist_sent_as_a_video_is_refused_at_the_url_field(page, playlist_url):
    start(page, playlist_url, "Video")
    # In the page's words: the API's own message names an endpoint, for API clients.
    page.locator("#url-error", has_text="choose Playlist under Type").wait_for()
    assert page.get_by_label("URL").get_attribute("aria-invalid") == "true"
    row_error = task_item(page, "three").locator(".error")
    assert "choose Playlist under Type" in row_error.inner_text()
    assert "/get_playlist" not in page.locator("main").inner_text()
    screenshots(page, "playlist-as-video")


def test_a_post_without_the_csrf_token_is_refused(page, progressive_url, console_errors):
    post = """async ([url, token]) => {
        const headers = {"Content-Type": "application/json"};
        const meta = document.querySelector('meta[name="csrf-token"]');
        if (token) headers["X-CSRFToken"] = meta.content;
        const response = await fetch("/get_info", {method: "POST", credentials: "same-origin",
                                                   headers, body: JSON.stringify({url})});
        return [response.status, await response.text()];
    }"""
    status, body = page.evaluate(post, [progressive_url, False])
    assert status == 403 and "CSRF" in body
    console_errors.clear()  # the browser reports the refusal asked for here
    status, body = page.evaluate(post, [progressive_url, True])
    assert status == 200, body
    screenshots(page, "csrf")


def test_a_deleted_key_signs_the_page_out(browser, stack):
    key = stack.create_key("short-lived", ["get_info"])
    with new_page(browser) as page:
        sign_in(page, stack, key)
        requests.delete(
            f"{stack.base_url}/delete_key/short-lived",
            headers={"X-API-Key": stack.admin_key},
            timeout=10,
        ).raise_for_status()
        page.get_by_text("Signed out: this API key no longer exists.").wait_for()
        assert page.get_by_label("API key").is_visible()
        screenshots(page, "signed-out")


def test_at_375_px_the_page_is_not_wider_than_the_window(page, progressive_url):
    long_url = f"{progressive_url}?{'x' * 200}=1&{SLOW}"
    start(page, long_url, "Video", start_time="0:01", end_time="0:03")
    task_item(page, "progressive").wait_for()
    page.set_viewport_size(PHONE)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    screenshots(page, "phone")


def test_the_api_s_refusal_of_items_is_shown_at_the_items_field(page, playlist_url, console_errors):
    page.get_by_label("URL").fill(playlist_url)
    page.get_by_label("Type").select_option(label="Playlist")
    page.get_by_label("Items", exact=True).fill("first five")
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator("#items-error", has_text="--playlist-items").wait_for()
    console_errors.clear()  # the browser reports the 400 asked for here
    assert page.get_by_label("Items", exact=True).get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "items"
    screenshots(page, "playlist-items-refused")


def test_a_playlist_larger_than_playlist_max_items_is_refused_at_its_field(page, playlist_pages):
    start(page, playlist_pages.url("four.html"), "Playlist")
    too_large = "more than 3 entries (PLAYLIST_MAX_ITEMS); choose some with `items`"
    page.locator("#items-error", has_text=too_large).wait_for()  # where its remedy is
    screenshots(page, "playlist-too-large")
    start(page, playlist_pages.url("four.html"), "Playlist", items="1-4")
    page.locator("#items-error", has_text="`items` selects more than 3 entries").wait_for()
    assert page.locator("#url-error").is_hidden()


def test_the_form_hides_and_clears_what_no_longer_applies(page, dash_url, progressive_url):
    from playwright.sync_api import expect

    page.get_by_label("Type").select_option(label="Info")
    expect(page.get_by_text("Times: seconds")).to_be_hidden()  # Info takes no times
    page.get_by_label("Type").select_option(label="Video")
    expect(page.get_by_text("Times: seconds")).to_be_visible()
    page.get_by_label("URL").fill(dash_url)
    page.get_by_role("button", name="Look up qualities").click()
    page.get_by_text("Qualities found").wait_for()
    page.get_by_label("Quality").select_option(label="240p")
    page.get_by_label("URL").fill(progressive_url)  # another media: its qualities unknown
    options = page.get_by_label("Quality").locator("option").all_inner_texts()
    assert options == ["Best"]
    expect(page.locator("#quality-status")).to_have_text(re.compile("^Best is used unless"))
    screenshots(page, "url-changed")


def test_a_clip_ending_before_it_starts_is_shown_at_its_fields(
    page, progressive_url, console_errors
):
    page.get_by_label("URL").fill(progressive_url)
    page.get_by_label("Type").select_option(label="Video")
    page.locator("#start_time").fill("0:06")
    page.locator("#end_time").fill("0:02")
    page.get_by_role("button", name="Start", exact=True).click()
    page.locator("#end_time-error", has_text="The end must be after the start").wait_for()
    console_errors.clear()  # the browser reports the 400 asked for here
    for field in ("start_time", "end_time"):
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
    assert page.locator("#form-status").inner_text() == ""
    screenshots(page, "clip-end-before-start")


def test_the_admin_s_task_and_webhook_lists_fit_1280_px(browser, stack):
    stack.manage("shell", "-c", ADMIN_ROWS)
    with new_page(browser) as page:
        page.goto(stack.base_url + "/admin/login/")
        page.get_by_label("Username").fill("wide-owner")
        page.get_by_label("Password").fill("wide-owner-password")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Site administration").wait_for()
        for changelist in ("task", "webhookdelivery"):
            page.goto(f"{stack.base_url}/admin/downloads_app/{changelist}/")
            page.locator("#result_list").wait_for()
            page.screenshot(path=ARTIFACTS / f"admin-{changelist}-1280.png", full_page=True)
            # The admin scrolls a wide table inside its box (.results), not the window.
            for box in (
                "document.documentElement",
                "document.querySelector('#changelist .results')",
            ):
                widths = page.evaluate(f"[{box}.scrollWidth, {box}.clientWidth]")
                assert widths[0] <= widths[1], (changelist, box, widths)


# A superuser, and rows as long as real ones get: a signed CDN URL, yt-dlp's error, a
# webhook receiver's URL.
ADMIN_ROWS = """
from django.contrib.auth.models import User
from downloads_app.models import Task, WebhookDelivery
from keys_app.models import APIKey
User.objects.create_superuser("wide-owner", "w@example.com", "wide-owner-password")
api_key = APIKey.objects.order_by("created_at").first()
url = "https://media.example.com/watch/" + "a1b2c3d4e5" * 12 + "?signature=" + "f" * 80
Task.objects.create(api_key=api_key, task_type="get_video", url=url, status="error",
    error="The URL answered 403 Forbidden: " + "the signed link expired before it was read " * 4)
Task.objects.create(api_key=api_key, task_type="get_video", url=url, status="completed",
    file_name="A rather long title, as some videos have, and then some more words.mp4")
WebhookDelivery.objects.create(api_key=api_key, task_id="0123456789abcdef" * 2,
    event_type="task.completed", url="https://hooks.example.com/" + "receiver/" * 12,
    payload="{}", state="failed", attempts=5)
"""


def test_a_refused_start_counts_down_its_retry_after_and_holds_starts_back(
    browser, stack, key, progressive_url
):
    """A 429 of a start (the key's request limit) with Retry-After: the form counts down
    to it, and Start and Look up qualities, which count against the same limit, stay
    disabled until then."""
    from playwright.sync_api import expect

    start = datetime.now()
    sent = []

    def refuse(route):
        sent.append(route.request.url)
        error = "Rate limit exceeded: 1 task requests per 10 minutes"
        route.fulfill(
            status=429,
            headers={"Retry-After": "20"},
            json={"error": f"{error}; try again in 20 seconds"},
        )

    with new_page(browser, clock_at=start) as page:
        sign_in(page, stack, key)
        page.clock.pause_at(start + timedelta(seconds=60))  # moved by the test from here
        page.route("**/get_video", refuse)
        page.get_by_label("URL").fill(progressive_url)
        page.get_by_label("Type").select_option(label="Video")
        start_button = page.get_by_role("button", name="Start", exact=True)
        start_button.click()
        status = page.locator("#form-status")
        expect(status).to_have_text(
            "Too many requests: Rate limit exceeded: 1 task requests per 10 minutes. "
            "You may try again in 20 s."
        )
        expect(start_button).to_be_disabled()
        expect(page.get_by_role("button", name="Look up qualities")).to_be_disabled()
        screenshots(page, "start-refused")
        page.clock.run_for(10_000)
        expect(status).to_contain_text("You may try again in 10 s.")
        expect(start_button).to_be_disabled()
        page.clock.run_for(10_000)
        expect(status).to_have_text("You may start a task again.")
        expect(start_button).to_be_enabled()
        assert len(sent) == 1


def test_the_subscriptions_section_adds_shows_pauses_and_deletes_one(browser, stack, playlist_url):
    """A key holding `subscribe`: its section lists a subscription with its checks and
    counts, its tasks, and acts on it; at 375 px nothing is wider than the window."""
    from playwright.sync_api import expect

    secret = stack.create_key("follower", ["subscribe", "get_video"])
    with new_page(browser) as page:
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, stack, secret)
        page.get_by_label("Channel, playlist or feed").fill(playlist_url)
        page.get_by_label("Each at").select_option("720")
        page.get_by_label("Download now").fill("1")
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_text("Subscribed to Three clips.").wait_for()
        item = page.locator("#subscriptions > li", has_text="Three clips")
        expect(item).to_contain_text("0 downloaded of 3 seen")
        expect(item).to_contain_text("every hour · last checked")
        item.get_by_role("button", name="Tasks").click()
        tasks = item.get_by_role("list", name="Tasks of Three clips")
        tasks.get_by_text("Three clips (1)").wait_for()
        page.set_viewport_size(PHONE)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        screenshots(page, "subscriptions")
        item.get_by_role("button", name="Pause").click()
        expect(item).to_contain_text("paused")
        item.get_by_role("button", name="Resume").click()
        item.get_by_role("button", name="Check now").wait_for()
        item.get_by_role("button", name="Delete").click()
        item.get_by_role("button", name="Delete: sure?").click()
        page.get_by_text("No subscriptions yet.").wait_for()
    assert not errors, errors


# --- The installable app, links shared to it, the bookmarklet (page_app/app.py) ------


def test_the_page_is_an_installable_app_whose_worker_caches_its_own_files_only(browser, stack, key):
    from playwright.sync_api import expect

    with new_page(browser, service_workers="allow") as page:
        page.goto(stack.base_url + "/")  # the sign-in page links the manifest too
        href = page.locator('link[rel="manifest"]').get_attribute("href")
        manifest = page.request.get(stack.base_url + href).json()
        assert manifest["share_target"]["params"]["url"] == "url"
        for icon in manifest["icons"]:
            assert page.request.get(stack.base_url + icon["src"]).ok, icon
        sign_in(page, stack, key)
        assert page.locator('link[rel="manifest"]').get_attribute("href") == href
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        cdp = page.context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # Playwright's contexts are incognito ones, where Chromium installs nothing (in a
        # profile of its own, the list is empty).
        assert [error["errorId"] for error in errors if error["errorId"] != "in-incognito"] == []
        assert cdp.send("Page.getAppManifest")["errors"] == []  # not even a warning
        served = {}
        page.on("response", lambda answer: served.setdefault(urlsplit(answer.url).path, answer))
        page.reload()
        expect(page.locator("#tasks-status")).to_have_text(re.compile(r"No tasks yet|newest first"))
        assert served["/static/page/page.js"].from_service_worker
        assert served["/static/page/page.css"].from_service_worker
        assert not served["/"].from_service_worker  # the page itself: the network's
        assert not served["/tasks"].from_service_worker  # an API answer: never cached
        cached = page.evaluate(
            """async () => {
                const paths = [];
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    const requests = await cache.keys();
                    paths.push(...requests.map((request) => new URL(request.url).pathname));
                }
                return paths;
            }"""
        )
        assert "/static/page/page.js" in cached and "/static/page/icons/icon-512.png" in cached
        assert all(path.startswith("/static/page/") for path in cached), cached


def test_a_shared_link_fills_the_field_and_survives_signing_in(browser, stack, key):
    from playwright.sync_api import expect

    shared = "https://media.example/watch?v=abc&t=1"
    # As Android shares: the link in `text`, after the page's title, and no `url`.
    query = urlencode({"title": "A clip", "text": f"A clip {shared}", "url": ""})
    with new_page(browser) as page:
        page.goto(f"{stack.base_url}/?{query}")
        page.get_by_text(shared).wait_for()  # the sign-in page says it keeps it
        screenshots(page, "shared-sign-in")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_label("URL")).to_have_value(shared)
        expect(page).to_have_url(stack.base_url + "/")  # a reload does not bring it back
        expect(page.get_by_role("button", name="Start", exact=True)).to_be_focused()
        screenshots(page, "shared")
        other = "https://media.example/other"
        page.goto(f"{stack.base_url}/?{urlencode({'url': other})}")  # signed in already
        expect(page.get_by_label("URL")).to_have_value(other)


def test_the_bookmarklet_opens_the_page_with_another_page_s_url(page, key, playlist_url):
    from playwright.sync_api import expect

    link = page.get_by_role("link", name="Send to ytdlphost")
    code = link.get_attribute("href")
    assert code.startswith("javascript:") and key not in code
    link.click()  # on the page itself it only says what to do with it
    expect(page.locator("#bookmarklet-status")).to_contain_text("Drag it to your bookmarks bar")
    screenshots(page, "bookmarklet")
    # Run on another site's page, as a bookmark runs it: a click on it there.
    other = page.context.new_page()
    other.goto(playlist_url)
    other.evaluate(
        """code => {
            const bookmark = document.createElement("a");
            bookmark.href = code;
            bookmark.id = "bookmark";
            bookmark.textContent = "Send to ytdlphost";
            document.body.prepend(bookmark);
        }""",
        code,
    )
    with page.context.expect_page() as opened:
        other.locator("#bookmark").click()
    sent = opened.value
    expect(sent.get_by_label("URL")).to_have_value(playlist_url)
    assert sent.get_by_text("Signed in as").is_visible()
