"""STORAGE=s3 on the real stack (gunicorn + qcluster) against the moto stand-in: the web
side has a DOWNLOAD_DIR of its own, which stays empty, so every answer it gives comes from
the database and the bucket; the workers keep nothing once a task completed."""

import sqlite3
import subprocess
import sys
import zipfile

import pytest
import requests

from tests.support.media_server import MediaServer
from tests.support.playlists import write_page
from tests.support.stack import REPO, LiveStack, free_port

pytestmark = pytest.mark.e2e

LOCATION = "ytdlphost"
CLEANUP_MINUTES = 5


def age(stack, task_id: str) -> None:
    """The task finished long enough ago to expire (straight into the stack's SQLite
    database: a `manage.py shell` would start Django once more)."""
    with sqlite3.connect(stack.data_dir / "db.sqlite3") as db:
        db.execute(
            "UPDATE downloads_app_task SET finished_at = datetime(finished_at, ?) WHERE id = ?",
            (f"-{CLEANUP_MINUTES + 1} minutes", task_id),
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory, bucket):
    env = {**bucket.env(LOCATION), "TASK_CLEANUP_TIME": str(CLEANUP_MINUTES)}
    web_disk = tmp_path_factory.mktemp("web-downloads")
    with LiveStack(
        tmp_path_factory.mktemp("s3-stack"), env=env, web_env={"DOWNLOAD_DIR": str(web_disk)}
    ) as running:
        running.web_disk = web_disk
        yield running


def objects(bucket, task_id: str) -> list[str]:
    return bucket.keys(f"{LOCATION}/{task_id}/")


def maintenance(stack, **env) -> dict:
    """run_maintenance's counts, with `env` added to the stack's settings."""
    output = subprocess.run(
        [sys.executable, "manage.py", "run_maintenance"],
        cwd=REPO, env={**stack.env, **env}, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return dict(line.split(": ", 1) for line in output.splitlines())


def test_a_video_is_served_from_the_bucket_redirected_and_streamed(stack, bucket, progressive_url):
    health = requests.get(f"{stack.base_url}/healthz", timeout=30).json()
    assert health["checks"]["storage"] == {"ok": True, "deletions_pending": 0}
    key = stack.create_key("s3-video", ["get_video", "get_info"])
    status = stack.run(key, "/get_video", {"url": progressive_url})
    assert status["status"] == "completed", status
    task_id = status["task_id"]
    assert objects(bucket, task_id) == [f"{LOCATION}/{task_id}/video.mp4"]
    stored = bucket.read(f"{LOCATION}/{task_id}/video.mp4")
    assert status["file_size"] == len(stored)
    assert stack.task_files(task_id) == []  # the worker's copy is gone
    assert list(stack.web_disk.iterdir()) == []

    file_url = f"{stack.base_url}{status['file']}"
    redirect = requests.get(file_url, allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith(bucket.server.url)
    fetched = requests.get(redirect.headers["Location"], timeout=30)
    assert fetched.content == stored
    assert 'filename="progressive.mp4"' in fetched.headers["Content-Disposition"]
    assert fetched.headers["Content-Type"] == "video/mp4"

    streaming = stack.start_web({"S3_PRESIGNED_REDIRECT": "false"})
    whole = requests.get(f"{streaming}{status['file']}", allow_redirects=False, timeout=30)
    assert (whole.status_code, whole.content) == (200, stored)
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = requests.get(
        f"{streaming}{status['file']}", headers={"Range": "bytes=10-99"}, timeout=30
    )
    assert (part.status_code, part.content) == (206, stored[10:100])
    assert part.headers["Content-Range"] == f"bytes 10-99/{len(stored)}"

    # A small file (info.json) is not the fast route's either: it has no disk to read.
    info = stack.run(key, "/get_info", {"url": progressive_url})
    small = requests.get(f"{stack.base_url}{info['file']}", allow_redirects=False, timeout=30)
    assert small.status_code == 302
    assert requests.get(f"{stack.base_url}{info['file']}?title", timeout=30).json() == {
        "title": "progressive"
    }

    # Expired, then cleaned up while the bucket cannot be reached: the objects stay, and
    # the next cleanup deletes them.
    age(stack, task_id)
    unreachable = maintenance(stack, AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    assert int(unreachable["tasks_deleted"]) >= 1
    assert int(unreachable["bucket_left"]) >= 1
    assert objects(bucket, task_id) != []
    assert requests.get(file_url, timeout=30).status_code == 410
    retried = maintenance(stack)
    assert retried["bucket_left"] == "0"
    assert objects(bucket, task_id) == []


def test_a_playlist_zip_streams_from_the_bucket(stack, bucket, media_server, tmp_path):
    sources = [
        media_server.url("progressive.mp4"),
        media_server.url("progressive_index_at_end.mp4"),
    ]
    write_page(tmp_path, "page.html", "Two clips", sources)
    key = stack.create_key("s3-lister", ["get_video"])
    with MediaServer(tmp_path) as pages:
        status = stack.run(key, "/get_playlist", {"url": pages.url("page.html"), "type": "video"})
    assert status["status"] == "completed", status
    entries = [child["task_id"] for child in status["children"]]
    stored = [bucket.read(f"{LOCATION}/{entry}/video.mp4") for entry in entries]

    response = requests.get(f"{stack.base_url}{status['file']}", timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    saved = tmp_path / "playlist.zip"
    saved.write_bytes(response.content)
    with zipfile.ZipFile(saved) as archive:
        assert archive.namelist() == ["1 - Two clips (1).mp4", "2 - Two clips (2).mp4"]
        assert [archive.read(name) for name in archive.namelist()] == stored
    assert list(stack.web_disk.iterdir()) == []

    requests.delete(
        f"{stack.base_url}/delete_task/{status['task_id']}", headers={"X-API-Key": key}, timeout=30
    ).raise_for_status()
    assert [objects(bucket, entry) for entry in entries] == [[], []]
