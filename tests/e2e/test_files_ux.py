"""What a client sees of task files through the real stack: files saved under their
titles, expired tasks answering 410, files named by `filename` and kept in the library, a
file of another site than YouTube left as it is by `sponsorblock`, and the media options'
files: subtitles, covers and tags in the file, or subtitles and the thumbnail beside it."""

import json
import shutil
import subprocess

import pytest
import requests

from tests.support.media_files import PAGE_CAPTION, PAGE_TITLE, duration, ffprobe
from tests.support.stack import REPO, LiveStack

pytestmark = pytest.mark.e2e


# TASK_CLEANUP_TIME: long enough that no task expires while a test fetches its file. A
# test that needs a task expired moves its finish back (AGE_TASK) instead of waiting.
CLEANUP_MINUTES = 5

# Run by `manage.py shell` against the stack's database, whichever database it is.
AGE_TASK = """
from datetime import timedelta
from django.db.models import F
from downloads_app.models import Task

earlier = F("finished_at") - timedelta(minutes={minutes})
Task.objects.filter(pk={task_id!r}).update(finished_at=earlier)
"""


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("library")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, library_dir):
    env = {"TASK_CLEANUP_TIME": str(CLEANUP_MINUTES), "LIBRARY_DIR": str(library_dir)}
    # SPONSORBLOCK_API: a closed loopback port, of which a task would log a warning had it
    # asked (test_sponsorblock_leaves_media_of_other_sites_as_it_is).
    env["SPONSORBLOCK_API"] = "http://127.0.0.1:9"
    with LiveStack(tmp_path_factory.mktemp("files-ux"), env=env) as running:
        yield running


def test_a_named_file_is_kept_in_the_library_after_its_task_expires(
    stack, library_dir, progressive_url
):
    key = stack.create_key("librarian", ["get_video", "library"])
    body = {"url": progressive_url, "filename": "%(title)s [%(id)s]", "library": True}
    first = stack.run(key, "/get_video", body)
    assert first["status"] == "completed", first
    assert (first["filename"], first["library"]) == ("%(title)s [%(id)s]", True)
    name = "progressive%20%5Bprogressive%5D.mp4"  # percent-encoded in its URL
    assert first["file"] == f"/files/{first['task_id']}/{name}"
    # LIBRARY_TEMPLATE's default: the generic extractor gives no uploader.
    assert first["library_path"].startswith("Unknown/")
    assert first["library_path"].endswith(" progressive [progressive].mp4")
    placed = library_dir / first["library_path"]
    listed = requests.get(f"{stack.base_url}/tasks", headers={"X-API-Key": key}, timeout=10)
    assert listed.json()["tasks"][0]["library_path"] == first["library_path"]
    downloaded = requests.get(f"{stack.base_url}{first['file']}", timeout=30)
    assert downloaded.content == placed.read_bytes()
    # Saved under the name asked for, not the title.
    disposition = downloaded.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="progressive [progressive].mp4"')

    second = stack.run(key, "/get_video", body)
    assert second["library_path"] == first["library_path"].replace(".mp4", " (2).mp4")
    assert (library_dir / second["library_path"]).is_file()

    # Aged, then the cleanup (as run_maintenance runs it), in one start of Django.
    aged = AGE_TASK.format(task_id=first["task_id"], minutes=CLEANUP_MINUTES + 1)
    stack.manage("shell", "-c", f"{aged}\nfrom downloads_app import tasks\ntasks.cleanup()")
    status_url = f"{stack.base_url}/status/{first['task_id']}"
    assert requests.get(status_url, headers={"X-API-Key": key}, timeout=10).status_code == 410
    assert not stack.task_files(first["task_id"])
    assert placed.read_bytes() == downloaded.content  # the library keeps it


def test_an_expired_task_answers_410_after_maintenance(stack, progressive_url):
    key = stack.create_key("expiring", ["get_info"])
    status = stack.run(key, "/get_info", {"url": progressive_url})
    assert status["status"] == "completed", status
    # Finished longer ago than TASK_CLEANUP_TIME. The every-minute schedule may clean it
    # up too; run_maintenance makes it happen now.
    stack.manage(
        "shell", "-c", AGE_TASK.format(task_id=status["task_id"], minutes=CLEANUP_MINUTES + 1)
    )
    assert "tasks_deleted: " in stack.manage("run_maintenance")
    status_url = f"{stack.base_url}/status/{status['task_id']}"
    gone = requests.get(status_url, headers={"X-API-Key": key}, timeout=10)
    assert gone.status_code == 410
    assert gone.json() == {
        "error": f"Task expired: finished tasks are kept for {CLEANUP_MINUTES} minutes "
        "(TASK_CLEANUP_TIME)"
    }
    assert requests.get(f"{stack.base_url}{status['file']}", timeout=10).status_code == 410
    other = stack.create_key("other", ["get_info"])
    assert requests.get(status_url, headers={"X-API-Key": other}, timeout=10).status_code == 404


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_saves_two_videos_as_two_files_named_by_their_titles(
    stack, progressive_url, dash_url, tmp_path
):
    key = stack.create_key("curl-user", ["get_video"])
    for url in (progressive_url, dash_url):
        status = stack.run(key, "/get_video", {"url": url})
        assert status["file"].endswith("/video.mp4"), status  # the URL is unchanged
        subprocess.run(
            ["curl", "--silent", "--fail", "-OJ", f"{stack.base_url}{status['file']}"],
            cwd=tmp_path, check=True, timeout=60,
        )  # fmt: skip
    assert sorted(path.name for path in tmp_path.iterdir()) == ["manifest.mp4", "progressive.mp4"]


def test_a_preset_loaded_by_the_command_shapes_a_requests_file(stack, progressive_url, tmp_path):
    """The example "Podcast MP3 128k" of docs/presets.json, loaded into the stack's database
    with `manage.py load_presets`, asked for by name: the worker's file is its MP3."""
    examples = json.loads((REPO / "docs" / "presets.json").read_text(encoding="utf-8"))
    [podcast] = [p for p in examples["presets"] if p["name"] == "Podcast MP3 128k"]
    path = tmp_path / "presets.json"
    path.write_text(json.dumps([podcast]), encoding="utf-8")
    assert "1 preset(s) created" in stack.manage("load_presets", str(path))
    key = stack.create_key("podcaster", ["get_audio"])
    status = stack.run(key, "/get_audio", {"url": progressive_url, "preset": "Podcast MP3 128k"})
    assert status["status"] == "completed", status
    assert (status["preset"], status["output_format"]) == ("Podcast MP3 128k", "mp3")
    assert status["file"].endswith("/audio.mp3")


def test_sponsorblock_leaves_media_of_other_sites_as_it_is(stack, progressive_url, tmp_path):
    key = stack.create_key("sponsorblock-user", ["get_video"])
    body = {"url": progressive_url, "sponsorblock": {"mark": ["all"], "remove": ["sponsor"]}}
    status = stack.run(key, "/get_video", body)
    assert status["status"] == "completed", status
    path = tmp_path / "video.mp4"
    path.write_bytes(requests.get(f"{stack.base_url}{status['file']}", timeout=30).content)
    assert duration(path) == pytest.approx(10, abs=0.5)
    # Nothing was asked of the API: it would have failed, and been logged.
    assert "SponsorBlock" not in stack.log_path.read_text()


def probed_streams(path):
    """(kind, codec, attached picture) of each of the file's streams, and its tags."""
    probe = ffprobe(path)
    streams = [
        (s["codec_type"], s["codec_name"], s.get("disposition", {}).get("attached_pic", 0))
        for s in probe["streams"]
    ]
    return streams, {name.lower(): value for name, value in probe["format"]["tags"].items()}


def fetched(stack, path, destination=None):
    response = requests.get(f"{stack.base_url}{path}", timeout=30)
    assert response.status_code == 200, response.text
    if destination is not None:
        destination.write_bytes(response.content)
    return response


def listed_row(stack, key, task_id):
    tasks = requests.get(f"{stack.base_url}/tasks", headers={"X-API-Key": key}, timeout=10)
    return next(row for row in tasks.json()["tasks"] if row["task_id"] == task_id)


def test_a_video_carries_its_subtitles_cover_and_title_and_its_thumbnail_is_served(
    stack, page_url, tmp_path
):
    key = stack.create_key("library-video", ["get_video"])
    status = stack.run(key, "/get_video", {"url": page_url, "subtitles": ["en"]})
    assert status["status"] == "completed", status
    fetched(stack, status["file"], tmp_path / "video.mp4")
    streams, tags = probed_streams(tmp_path / "video.mp4")
    assert ("subtitle", "mov_text", 0) in streams  # embedded: the MP4's own subtitle codec
    assert [kind for kind, _, cover in streams if cover] == ["video"]  # the cover
    assert tags["title"].startswith(PAGE_TITLE)
    thumbnail = fetched(stack, status["thumbnail"])
    assert thumbnail.headers["Content-Type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    assert status["thumbnail"] == f"/files/{status['task_id']}/video.jpg"
    assert status["extra_files"] == [
        {"name": "video.jpg", "size": len(thumbnail.content), "kind": "thumbnail",
         "file": status["thumbnail"]},
    ]  # fmt: skip
    row = listed_row(stack, key, status["task_id"])
    assert (row["thumbnail"], row["extra_files"]) == (status["thumbnail"], status["extra_files"])


def test_an_mp3_carries_its_cover_and_tags_and_its_subtitles_are_served_beside_it(
    stack, page_url, tmp_path
):
    key = stack.create_key("library-audio", ["get_audio"])
    body = {"url": page_url, "output_format": "mp3", "subtitles": ["en"], "embed_subtitles": False}
    status = stack.run(key, "/get_audio", body)
    assert status["status"] == "completed", status
    assert status["file"].endswith("/audio.mp3")  # the same kind of file as without options
    fetched(stack, status["file"], tmp_path / "audio.mp3")
    streams, tags = probed_streams(tmp_path / "audio.mp3")
    assert streams[0][:2] == ("audio", "mp3")
    assert [cover for _, _, cover in streams] == [0, 1]
    assert tags["title"].startswith(PAGE_TITLE)
    subtitles = [extra for extra in status["extra_files"] if extra["kind"] == "subtitles"]
    assert [extra["name"] for extra in subtitles] == ["audio.en.vtt"]
    served = fetched(stack, subtitles[0]["file"])
    assert PAGE_CAPTION in served.text
    assert len(served.content) == subtitles[0]["size"]
    assert served.headers["Content-Disposition"].endswith(".en.vtt")
    assert fetched(stack, status["thumbnail"]).content[:3] == b"\xff\xd8\xff"
