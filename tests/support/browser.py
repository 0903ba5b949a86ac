"""Driving the web page in a real browser: Debian's Chromium, headless, through Playwright,
for the tests in tests/page_app/browser/ (their fixtures are in its conftest.py).

Chromium missing: `chromium_or_skip` skips with one line saying how to get it (./test.sh
installs it when run as root); under CI (CI=true) it fails instead, so CI never skips the
browser tests silently.
"""

import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.stack import REPO

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
# The page's service worker (page_app/app.py) is blocked in the tests' browser contexts
# but the ones that test it: requests it sees are not all seen by Playwright's page.route.
SERVICE_WORKERS = "block"


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


def sign_in(page, stack, key):
    page.goto(stack.base_url + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()
    # page.js is deferred: it has run by DOMContentLoaded, and only from then on do the
    # form's controls do what they say (a field shown or hidden for the type chosen).
    page.wait_for_load_state("domcontentloaded")


@contextmanager
def new_page(browser, *, clock_at: datetime | None = None, service_workers=SERVICE_WORKERS):
    """A desktop-sized page in a browser context of its own, with the tests' patience,
    closed after the block. `clock_at`: the page's clock (Date and the timers) starts
    there and runs on its own until the test pauses and moves it (Playwright's
    page.clock); installed before the page loads, as Playwright advises.
    `service_workers="allow"`: with the page's service worker."""
    context = browser.new_context(viewport=DESKTOP, service_workers=service_workers)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    if clock_at is not None:
        page.clock.install(time=clock_at)
    try:
        yield page
    finally:
        context.close()


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
