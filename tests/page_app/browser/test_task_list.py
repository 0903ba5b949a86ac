"""The web page's task list in a real browser, against the real stack (gunicorn + qcluster)
and the local media server: a task's progress, its file, cancelling, retrying, deleting, an
info task's metadata, a playlist as one group, what each row says, clearing the finished.

Each test saves a desktop and a phone screenshot under test-artifacts/page/.
"""

import os
import re
import shutil
import time
import zipfile
from datetime import datetime, timedelta

import pytest
import requests

from tests.support.browser import (
    PHONE,
    SLOW,
    look_up,
    new_page,
    screenshots,
    sign_in,
    start,
    task_item,
)
from tests.support.media_files import ffprobe
from tests.support.media_server import MediaServer
from tests.support.stack import REPO

pytestmark = pytest.mark.e2e


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
    remedy = item.locator(".remedy")  # by its error_code, not_found (remedies.js)
    assert "check the link" in remedy.inner_text()
    link = remedy.get_by_role("link", name="Error codes")
    assert link.get_attribute("href") == "https://docs.example/docs/api.md#error-codes"
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


def test_clear_finished_deletes_the_finished_tasks_and_keeps_the_others(
    browser, stack, progressive_url, media_server
):
    from playwright.sync_api import expect

    key = stack.create_key("tidy", ["get_video", "get_info"])
    finished = stack.run(key, "/get_info", {"url": progressive_url})
    failed = stack.run(key, "/get_video", {"url": media_server.url("no-such-clip.mp4")})
    running = stack.submit(key, "/get_video", {"url": f"{progressive_url}?rate=20000"})
    with new_page(browser) as page:
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
    # Not left running: the module's stack would wait for it when it stops (20 s).
    cancel = f"{stack.base_url}/cancel/{running}"
    assert requests.post(cancel, json={}, headers={"X-API-Key": key}, timeout=10).ok


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
    # (The bookmarklet's link is the page's own, made to be dragged to the bookmarks bar.)
    hostile_links = '[href^="javascript:" i]:not(#bookmarklet), [src^="javascript:" i]'
    assert page.locator(hostile_links).count() == 0
    link = plain.get_by_role("link", name="Thumbnail")
    assert link.get_attribute("href") == posters["Plain poster"]
    screenshots(page, "thumbnails")


def test_a_refused_list_says_when_it_is_read_again_and_is_not_asked_sooner(browser, stack, key):
    """A 429 of GET /tasks (too many long polls of the key at once) with Retry-After: the
    list's status says when it is read again, and the page asks no sooner."""
    from playwright.sync_api import expect

    start = datetime.now()
    asked = []

    def refuse_once(route):
        asked.append(route.request.url)
        if len(asked) > 1:
            return route.continue_()
        error = "Too many waiting requests of this key or session: at most 2 at once"
        route.fulfill(
            status=429,
            headers={"Retry-After": "120"},
            json={"error": f"{error}; try again in 120 seconds"},
        )

    with new_page(browser, clock_at=start) as page:
        page.route(re.compile(r"/tasks\?"), refuse_once)
        sign_in(page, stack, key)
        status = page.locator("#tasks-status")
        expect(status).to_contain_text("at most 2 at once. The list is read again at ")
        screenshots(page, "list-refused")
        # Paused past the page's load, before the 120 s are up, then moved by the test.
        page.clock.pause_at(start + timedelta(seconds=60))
        page.clock.run_for(55_000)
        assert len(asked) == 1, asked
        page.clock.run_for(120_000)
        expect(status).to_have_text(re.compile(r"^(No tasks yet|\d+ tasks?, newest first)"))
        assert len(asked) >= 2


# --- What the back end gives for issue 25 (its answers stood in for by backend_shapes) ---


def test_the_list_shows_thumbnails_the_library_the_extra_files_and_a_quota(page, tmp_path):
    from playwright.sync_api import expect

    from tests.page_app.browser import backend_shapes as shapes

    shapes.route_library(page, "https://media.example", shapes.thumbnail_images(tmp_path))
    with page.expect_response(re.compile(r"/presets$")) as presets:
        page.reload()
    # The server has no presets for this key (an empty list): the form is as without them.
    assert presets.value.json() == {"presets": []} and page.locator("#preset-field").is_hidden()
    video = page.locator(f'#tasks > li[data-task-id="{shapes.VIDEO_ID}"]')
    video.locator("img.thumb").wait_for()
    group = page.locator(f'#tasks > li[data-task-id="{shapes.PLAYLIST_ID}"]')
    # Loaded (from this origin, as the policy allows), in the list and in the group.
    expect(group.locator(".entries img.thumb")).to_have_count(2)
    for image in [video.locator("img.thumb"), *group.locator("img.thumb").all()]:
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("node => node.naturalWidth") == 320
    expect(video.locator(".library")).to_have_text(
        "In the library Blender Foundation/2008-05-20 Big Buck Bunny [bbb].mkv"
    )
    subtitles = video.get_by_role("link", name="Subtitles en.vtt (2.3 KB)")
    assert subtitles.get_attribute("href").endswith(".en.vtt")
    assert video.get_by_role("link", name=re.compile("^Cover")).count() == 0  # the thumbnail
    expect(video.locator(".task-details")).to_contain_text("preset Jellyfin 1080p")
    quota = page.locator(f'#tasks > li[data-task-id="{shapes.QUOTA_ID}"] .remedy')
    expect(quota).to_contain_text(re.compile(r"download allowance is used up; it frees at \d"))
    screenshots(page, "library")
    page.unroute_all(behavior="ignoreErrors")


def test_a_preset_is_offered_first_and_sent_with_the_fields_changed(page):
    from playwright.sync_api import expect

    from tests.page_app.browser import backend_shapes as shapes

    sent = []
    shapes.route_presets(page, sent)
    page.reload()
    preset = page.get_by_label("Preset")
    expect(preset.locator("option")).to_have_text(
        ["None: choose below", "Jellyfin 1080p", "Podcast MP3 128k"]
    )
    preset.select_option("Podcast MP3 128k")
    expect(page.get_by_label("Type")).to_have_value("get_audio")  # the preset's type
    expect(page.locator("#preset-hint")).to_have_text("MP3 at 128 kbit/s with its cover and tags.")
    page.get_by_label("URL").fill("https://media.example/episode")
    screenshots(page, "preset")
    with page.expect_response(re.compile(r"/get_audio$")):  # answered: `sent` has it
        page.get_by_role("button", name="Start", exact=True).click()
    # Only what the visitor set goes with it: the preset gives the rest.
    assert sent[-1] == {"url": "https://media.example/episode", "preset": "Podcast MP3 128k"}
    preset.select_option("Jellyfin 1080p")
    page.get_by_label("Output format").select_option("mp4")
    with page.expect_response(re.compile(r"/get_video$")):
        page.get_by_role("button", name="Start", exact=True).click()
    assert sent[-1]["preset"] == "Jellyfin 1080p" and sent[-1]["output_format"] == "mp4"
    # Another type than the preset's: no preset.
    page.get_by_label("Type").select_option(label="Audio")
    expect(preset).to_have_value("")
    page.unroute_all(behavior="ignoreErrors")
