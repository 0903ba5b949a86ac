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
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.media import MediaServer, ffprobe
from tests.support.playlists import write_page
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
    env = {
        "REQUEST_LIMIT": "200",
        "MAX_WORKERS": "4",
        "MAX_TASKS_PER_KEY": "4",
        "PLAYLIST_MAX_ITEMS": "3",  # playlist_pages has one of three entries, and one of four
    }
    with LiveStack(tmp_path_factory.mktemp("page"), env=env) as stack:
        yield stack


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key(
        "alice", ["get_video", "get_audio", "get_live_video", "get_live_audio", "get_info"]
    )


@pytest.fixture(scope="module")
def playlist_pages(tmp_path_factory, media_server):
    """HTML pages of <video> elements, which yt-dlp reads as playlists: three.html, whose
    entries are served slowly (the group's progress shows before "Download all"), and
    four.html, one more than PLAYLIST_MAX_ITEMS."""
    directory = tmp_path_factory.mktemp("playlists")
    sources = [media_server.url(f"progressive.mp4?{SLOW}&entry={n}") for n in (1, 2, 3, 4)]
    write_page(directory, "three.html", "Three clips", sources[:3])
    write_page(directory, "four.html", "Four clips", sources)
    with MediaServer(directory) as pages:
        yield pages


@pytest.fixture(scope="module")
def playlist_url(playlist_pages):
    return playlist_pages.url("three.html")


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
    # page.js is deferred: it has run by DOMContentLoaded, and only from then on do the
    # form's controls do what they say (a field shown or hidden for the type chosen).
    page.wait_for_load_state("domcontentloaded")


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
    # Said once: not again as the row's error ("Cancelled") nor as the button's note.
    assert item.inner_text().lower().count("cancelled") == 1, item.inner_text()
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


def offered_types(browser, stack, name, permissions) -> tuple[list[str], list[str]]:
    """The types a key is offered, and what a playlist's items may be (none: no Playlist)."""
    key = stack.create_key(name, permissions)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, stack, key)
    offered = page.get_by_label("Type").locator("option").all_inner_texts()
    entry_types = []
    if "Playlist" in offered:
        page.get_by_label("Type").select_option(label="Playlist")
        entry_types = page.get_by_label("Each item as").locator("option").all_inner_texts()
        assert page.get_by_label("Items", exact=True).is_visible()
        assert not page.get_by_role("button", name="Look up qualities").is_visible()
    screenshots(page, name)
    context.close()
    return offered, entry_types


def test_a_key_without_get_audio_is_not_offered_audio(browser, stack):
    offered, entry_types = offered_types(browser, stack, "video-only", ["get_video", "get_info"])
    assert offered == ["Video", "Info", "Playlist"]
    assert entry_types == ["Video"]


def test_a_key_without_get_video_or_get_audio_is_not_offered_a_playlist(browser, stack):
    permissions = ["get_live_video", "get_live_audio", "get_info"]
    offered, _ = offered_types(browser, stack, "recorder", permissions)
    assert offered == ["Live video", "Live audio", "Info"]


def test_a_playlist_shows_as_one_group_and_downloads_as_one_zip(page, playlist_url, tmp_path):
    from playwright.sync_api import expect

    start(page, playlist_url, "Playlist", entry_type="video", quality="720", output_format="mp4")
    group = task_item(page, "three")
    bar = group.get_by_role("progressbar", name="Progress of the playlist")
    bar.wait_for()
    assert 0 <= float(bar.get_attribute("aria-valuenow")) <= 100
    entries = group.locator("ol.entries > li")
    expect(entries).to_have_count(3)
    titles = entries.locator("h4").all_inner_texts()
    assert titles == ["Three clips (1)", "Three clips (2)", "Three clips (3)"]
    # The entries are in /tasks too, but shown only inside their playlist's item.
    expect(page.locator("#tasks > li > h3", has_text="Three clips (")).to_have_count(0)
    expect(group.locator(".counts")).to_contain_text(" of 3 done")
    entries.get_by_role("progressbar").first.wait_for()  # an entry's own, inside the group
    screenshots(page, "playlist-downloading")
    download_all = group.get_by_role("link", name="Download all")
    download_all.wait_for()
    expect(group.locator(".counts")).to_have_text("3 of 3 done")
    assert entries.get_by_role("link", name="Download", exact=True).count() == 3
    zip_size = group.locator(":scope > .task-actions .size").inner_text()
    assert re.fullmatch(r"ZIP, about \d+(\.\d)? (KB|MB)", zip_size), zip_size
    screenshots(page, "playlist-completed")
    page.set_viewport_size(PHONE)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    page.emulate_media(color_scheme="dark")
    screenshots(page, "playlist-completed-dark")
    page.emulate_media(color_scheme="light")
    with page.expect_download() as info:
        download_all.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "Three clips.zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert len(names) == 3 and all(name.endswith(".mp4") for name in names), names
        archive.extractall(tmp_path / "files")
    for name in names:
        probe = ffprobe(tmp_path / "files" / name)
        assert {stream["codec_type"] for stream in probe["streams"]} >= {"video", "audio"}
    readme_screenshot(page)  # the module's earlier tasks below the playlist
    playlist_off_the_page(page, group.get_attribute("data-task-id"))


def playlist_off_the_page(page, playlist_id):
    """A playlist larger than a page of /tasks (50) is not on it, its newer entries are:
    the page reads its /status and still shows the group."""

    def without_the_playlist(route):
        response = route.fetch()
        if response.status != 200:
            return route.fulfill(response=response)
        body = response.json()
        body["tasks"] = [task for task in body["tasks"] if task["task_id"] != playlist_id]
        route.fulfill(response=response, json=body)

    page.route(re.compile(r"/tasks\?"), without_the_playlist)
    page.reload()
    group = page.locator(f'#tasks > li[data-task-id="{playlist_id}"]')
    group.get_by_role("link", name="Download all").wait_for()
    assert group.locator("ol.entries > li").count() == 3
    assert page.locator("#tasks > li > h3", has_text="Three clips (").count() == 0
    page.unroute(re.compile(r"/tasks\?"))


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


def tasks_with_expiry(given: bool):
    """A route handler for /tasks: finished tasks with `expires_at` (issue 22: when cleanup
    deletes them, TASK_CLEANUP_TIME minutes after finished_at; a server that gives it
    keeps its own), or without it, as from a server that does not give it."""

    def handle(route):
        response = route.fetch()
        if response.status != 200:
            return route.fulfill(response=response)
        body = response.json()
        for task in body["tasks"]:
            if not given:
                task.pop("expires_at", None)
            elif task["finished_at"] and "expires_at" not in task:
                finished = datetime.fromisoformat(task["finished_at"].replace("Z", "+00:00"))
                task["expires_at"] = (finished + timedelta(minutes=10)).isoformat()
        route.fulfill(response=response, json=body)

    return handle


def test_each_row_says_when_it_started_what_was_asked_and_when_its_file_goes(
    page, stack, key, progressive_url
):
    from playwright.sync_api import expect

    page.route(re.compile(r"/tasks\?"), tasks_with_expiry(given=True))
    page.reload()
    start(page, f"{progressive_url}?rows", "Video", start_time="0:01", end_time="0:03")
    # The clip was this task's: the next one starts without it.
    assert page.locator("#start_time").input_value() == ""
    assert page.locator("#end_time").input_value() == ""
    clip = task_item(page, "progressive.mp4?rows")
    expect(clip.locator(".task-details")).to_contain_text(re.compile(r"Started \d{1,2}:\d{2}"))
    expect(clip.locator(".task-details")).to_contain_text("clip 0:01–0:03")
    body = {"url": f"{progressive_url}?capped", "video_format": "bestvideo[height<=240]"}
    stack.submit(key, "/get_video", body | {"output_format": "mkv"})
    capped = task_item(page, "progressive.mp4?capped")
    expect(capped.locator(".task-details")).to_contain_text("at most 240p · mkv")
    clip.get_by_role("link", name="Download").wait_for()
    expect(clip.locator(".task-details")).to_contain_text(re.compile(r"expires in \d+ min"))
    screenshots(page, "rows")
    # A long poll may be in flight in the handler: what it answers no longer matters.
    page.unroute_all(behavior="ignoreErrors")
    page.route(re.compile(r"/tasks\?"), tasks_with_expiry(given=False))
    page.reload()  # without `expires_at`, the row says nothing of it
    expect(clip.locator(".task-details")).to_contain_text("clip 0:01–0:03")
    assert "expires" not in clip.locator(".task-details").inner_text()
    page.unroute_all(behavior="ignoreErrors")


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


def test_clear_finished_deletes_the_finished_tasks_and_keeps_the_others(
    browser, stack, progressive_url, media_server
):
    from playwright.sync_api import expect

    key = stack.create_key("tidy", ["get_video", "get_info"])
    finished = stack.run(key, "/get_info", {"url": progressive_url})
    failed = stack.run(key, "/get_video", {"url": media_server.url("no-such-clip.mp4")})
    running = stack.submit(key, "/get_video", {"url": f"{progressive_url}?rate=20000"})
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, stack, key)
    rows = page.locator("#tasks > li")
    page.locator(f'#tasks > li[data-task-id="{running}"] .progress').wait_for()
    page.get_by_role("button", name="Clear finished").click()
    page.get_by_text("Delete the 2 finished tasks and their files?").wait_for()
    screenshots(page, "clear-finished-asks")
    page.get_by_role("button", name="Delete them").click()
    page.get_by_text("Deleted 2 finished tasks.").wait_for()
    expect(rows).to_have_count(1)  # the list follows: each deletion wakes its long poll
    assert rows.first.get_attribute("data-task-id") == running
    for task in (finished, failed):
        path = f"/status/{task['task_id']}"
        status = requests.get(stack.base_url + path, headers={"X-API-Key": key}, timeout=10)
        assert status.status_code == 404
    assert page.get_by_role("button", name="Clear finished").is_hidden()
    screenshots(page, "clear-finished-done")
    context.close()


def test_the_admin_s_task_and_webhook_lists_fit_1280_px(browser, stack):
    stack.manage("shell", "-c", ADMIN_ROWS)
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
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
        for box in ("document.documentElement", "document.querySelector('#changelist .results')"):
            widths = page.evaluate(f"[{box}.scrollWidth, {box}.clientWidth]")
            assert widths[0] <= widths[1], (changelist, box, widths)
    context.close()


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


def look_up(page, url, title):
    """The list item of the info task that looking up `url`'s qualities starts, once its
    metadata shows."""
    page.get_by_label("URL").fill(url)
    page.get_by_label("Type").select_option(label="Video")
    page.get_by_role("button", name="Look up qualities").click()
    page.get_by_text("Qualities found").wait_for()
    item = task_item(page, title)
    item.get_by_role("table").wait_for()
    return item


def test_only_http_and_https_thumbnails_become_links(page, tmp_path, media_server):
    from html import escape

    video = escape(media_server.url("progressive.mp4"))
    posters = {
        "Hostile poster": "javascript:alert(document.domain)",
        "Plain poster": "https://example.com/poster.jpg",
    }
    for number, (title, poster) in enumerate(posters.items()):
        (tmp_path / f"{number}.html").write_text(
            f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
            f'<video src="{video}" poster="{escape(poster)}"></video></body></html>'
        )
    with MediaServer(tmp_path) as site:
        hostile = look_up(page, site.url("0.html"), "Hostile poster")
        plain = look_up(page, site.url("1.html"), "Plain poster")
    assert hostile.get_by_role("link", name="Thumbnail").count() == 0
    assert page.locator('[href^="javascript:" i], [src^="javascript:" i]').count() == 0
    link = plain.get_by_role("link", name="Thumbnail")
    assert link.get_attribute("href") == posters["Plain poster"]
    screenshots(page, "thumbnails")


def test_the_subscriptions_section_adds_shows_pauses_and_deletes_one(browser, stack, playlist_url):
    """A key holding `subscribe`: its section lists a subscription with its checks and
    counts, its tasks, and acts on it; at 375 px nothing is wider than the window."""
    from playwright.sync_api import expect

    secret = stack.create_key("follower", ["subscribe", "get_video"])
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
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
    item.get_by_role("list", name="Tasks of Three clips").get_by_text("Three clips (1)").wait_for()
    page.set_viewport_size(PHONE)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    screenshots(page, "subscriptions")
    for name in ("desktop", "phone"):
        shutil.copy(ARTIFACTS / f"subscriptions-{name}.png", f"/tmp/subscriptions-{name}.png")
    item.get_by_role("button", name="Pause").click()
    expect(item).to_contain_text("paused")
    item.get_by_role("button", name="Resume").click()
    item.get_by_role("button", name="Check now").wait_for()
    item.get_by_role("button", name="Delete").click()
    item.get_by_role("button", name="Delete: sure?").click()
    page.get_by_text("No subscriptions yet.").wait_for()
    context.close()
    assert not errors, errors
