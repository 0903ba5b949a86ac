"""One stack and one browser for each module here; each test gets a fresh, signed-in
browser context (`page`). The page's scripts must report no error in any test.
"""

import pytest

from tests.support.browser import (
    CHROMIUM_ARGS,
    DESKTOP,
    SERVICE_WORKERS,
    SLOW,
    TIMEOUT_MS,
    chromium_or_skip,
    sign_in,
)
from tests.support.media_server import MediaServer
from tests.support.playlists import write_page
from tests.support.stack import LiveStack


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
        "DOCS_URL": "https://docs.example/docs",  # where a failed task's remedy links
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


def is_error(message) -> bool:
    """A console message that is an error of the page's. Not the 404 of GET /presets that
    a test answers as an older server without presets would (the page then shows the
    form without them)."""
    if message.type != "error":
        return False
    absent = message.location.get("url", "").endswith("/presets") and "404" in message.text
    return not absent


@pytest.fixture
def page(browser, stack, key, console_errors):
    """A fresh browser context, signed in with `key`, at the page. Without the page's
    service worker (SERVICE_WORKERS), as Playwright advises for page.route."""
    context = browser.new_context(
        viewport=DESKTOP, accept_downloads=True, service_workers=SERVICE_WORKERS
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = console_errors
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if is_error(message) else None,
    )
    sign_in(page, stack, key)
    yield page
    context.close()
    # A CSP violation or a script error shows in the console: the page must have none.
    assert not errors, errors
