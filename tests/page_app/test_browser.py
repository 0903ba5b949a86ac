"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright against
the real stack (gunicorn + qcluster) and the local media server.

One stack and one browser for the module; each test gets a fresh, signed-in browser
context. Each test saves a desktop and a phone screenshot under test-artifacts/page/.

Chromium missing: the tests skip with one line saying how to get it (./test.sh installs it
when run as root); under CI (CI=true) they fail instead, so CI never skips them silently.
"""

import os
import re
import shutil
import time
from pathlib import Path

import pytest
import requests

from tests.support.media import ffprobe
from tests.support.stack import REPO, LiveStack

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts" / "page"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# The downloads in these tests are served slowly, so that a person (and the test) sees
# the progress bar before the Download link.
SLOW = "rate=150000"
TIMEOUT_MS = 45_000


def chromium_or_skip() -> str:
    missing = []
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -r requirements-dev.txt)")
    if missing:
        message = (
            f"browser tests need {' and '.join(missing)}; run ./test.sh as root to install Chromium"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {message}")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser():
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, browser):
    env = {"REQUEST_LIMIT": "200", "MAX_WORKERS": "4", "MAX_TASKS_PER_KEY": "4"}
    with LiveStack(tmp_path_factory.mktemp("page"), env=env) as stack:
        yield stack


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key(
        "alice", ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]
    )


@pytest.fixture
def console_errors():
    """Script errors and failed requests the page reported (a CSP violation is one)."""
    return []


@pytest.fixture
def page(browser, stack, key, console_errors):
    """A fresh browser context, signed in with `key`, at the page."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = console_errors
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    sign_in(page, stack, key)
    yield page
    context.close()
    # A CSP violation or a script error shows in the console: the page must have none.
    assert not errors, errors


def sign_in(page, stack, key):
    page.goto(stack.base_url + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()


def screenshots(page, name: str) -> None:
    """Desktop and phone screenshots of the page as it is now."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=ARTIFACTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=ARTIFACTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(size)


def start(page, url, type_label, **fields):
    page.get_by_label("URL").fill(url)
    page.get_by_label("Type").select_option(label=type_label)
    for field_id, value in fields.items():
        field = page.locator(f"#{field_id}")
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(value))
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_text("Started: the task is in the list below.").wait_for()


def task_item(page, text):
    """The list item of the newest task whose title or URL contains `text`."""
    return page.locator("#tasks > li", has_text=text).first


def test_a_clip_shows_its_progress_then_downloads_a_playable_file(page, progressive_url, tmp_path):
    url = f"{progressive_url}?{SLOW}"
    start(page, url, "Video", start_time="2", end_time="6", output_format="mp4")
    item = task_item(page, "progressive")
    bar = item.get_by_role("progressbar")
    bar.wait_for()
    value = bar.get_attribute("aria-valuenow")
    assert value is None or 0 <= float(value) <= 100
    screenshots(page, "downloading")
    download_link = item.get_by_role("link", name="Download")
    download_link.wait_for()
    assert re.search(r"\d+(\.\d)? (KB|MB)", item.locator(".size").inner_text())
    screenshots(page, "completed")
    with page.expect_download() as info:
        download_link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    probe = ffprobe(path)
    assert {stream["codec_type"] for stream in probe["streams"]} >= {"video", "audio"}
    assert 2 <= float(probe["format"]["duration"]) <= 6


def test_a_live_recording_can_be_cancelled(page, live_url):
    start(page, live_url, "Live video", duration="60")
    item = task_item(page, "live")
    item.get_by_role("button", name="Stop and keep").wait_for()  # shown while recording
    item.get_by_role("button", name="Cancel").click()
    item.get_by_text("Live video · cancelled").wait_for()
    item.get_by_role("button", name="Delete").wait_for()
    assert item.get_by_role("link", name="Download").count() == 0
    screenshots(page, "cancelled")


def test_stop_and_keep_completes_a_live_recording(page, stack, live_url):
    start(page, live_url, "Live audio", duration="60")
    item = task_item(page, "live")
    keep = item.get_by_role("button", name="Stop and keep")
    keep.wait_for()
    time.sleep(3)  # a few seconds of recording
    keep.click()
    item.get_by_role("link", name="Download").wait_for()
    href = item.get_by_role("link", name="Download").get_attribute("href")
    file = requests.get(stack.base_url + href, timeout=30)
    assert file.status_code == 200 and len(file.content) > 1000
    screenshots(page, "kept")


def test_a_failed_task_can_be_retried_and_a_task_deleted(page, media_server):
    media_server.clear_log()
    missing = media_server.url("no-such-video.mp4")
    start(page, missing, "Video")
    item = task_item(page, "no-such-video")
    retry = item.get_by_role("button", name="Retry")
    retry.wait_for()
    assert "404" in item.locator(".error").inner_text()
    tried = media_server.count("/no-such-video.mp4")
    screenshots(page, "failed")
    retry.click()
    item.get_by_text("Started again.").wait_for()
    deadline = time.monotonic() + 30
    while media_server.count("/no-such-video.mp4") <= tried:
        assert time.monotonic() < deadline, "the retried task never ran"
        time.sleep(0.2)
    item.get_by_role("button", name="Retry").wait_for()
    item.get_by_role("button", name="Delete").click()
    page.locator("#tasks > li", has_text="no-such-video").wait_for(state="detached")
    screenshots(page, "deleted")


def test_an_info_task_shows_the_metadata_and_its_qualities(page, dash_url):
    page.get_by_label("URL").fill(dash_url)
    page.get_by_label("Type").select_option(label="Video")
    page.get_by_role("button", name="Look up qualities").click()
    page.get_by_text("Qualities found").wait_for()
    options = page.get_by_label("Quality").locator("option").all_inner_texts()
    assert options[0] == "Best" and {"360p", "240p", "144p"} <= set(options)
    item = task_item(page, "manifest")
    item.get_by_role("table").wait_for()
    assert item.get_by_role("link", name="Raw JSON").get_attribute("href").endswith("info.json")
    assert "360p" in item.get_by_role("table").inner_text()
    screenshots(page, "info")
    readme_screenshot(page)


def test_a_key_without_get_audio_is_not_offered_audio(browser, stack):
    key = stack.create_key("video-only", ["get_video", "get_info"])
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, stack, key)
    offered = page.get_by_label("Type").locator("option").all_inner_texts()
    assert offered == ["Video", "Info"]
    screenshots(page, "video-only")
    context.close()


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
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, stack, key)
    requests.delete(
        f"{stack.base_url}/delete_key/short-lived",
        headers={"X-API-Key": stack.admin_key},
        timeout=10,
    ).raise_for_status()
    page.get_by_text("Signed out: this API key no longer exists.").wait_for()
    assert page.get_by_label("API key").is_visible()
    screenshots(page, "signed-out")
    context.close()


def test_at_375_px_the_page_is_not_wider_than_the_window(page, progressive_url):
    long_url = f"{progressive_url}?{'x' * 200}=1&{SLOW}"
    start(page, long_url, "Video", start_time="0:01", end_time="0:03")
    task_item(page, "progressive").wait_for()
    page.set_viewport_size(PHONE)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    screenshots(page, "phone")


def readme_screenshot(page):
    """docs/page.png, the README's picture of the page: made here, small (a few tens of
    KB), and only rewritten when asked (UPDATE_README_SCREENSHOT=1)."""
    if os.environ.get("UPDATE_README_SCREENSHOT") != "1":
        return
    page.get_by_label("URL").fill("")
    page.set_viewport_size({"width": 900, "height": 700})
    path = REPO / "docs" / "page.png"
    page.screenshot(path=path, full_page=True)
    if shutil.which("pngquant"):
        os.system(f"pngquant --force --output {path} {path}")  # noqa: S605
