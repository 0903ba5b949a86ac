"""STORAGE=s3 in the test's process, against the moto stand-in (tests/support/s3.py): the
worker's upload and its failure, /files' redirect and stream, the playlist's ZIP, info.json
from the bucket, and deleting objects with its retries. The real stack, with a web side
that has no disk, is tests/e2e/test_storage_s3.py's."""

import io
import json
import secrets
import zipfile
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from downloads_app import files, lifecycle, maintenance, storage
from downloads_app.models import BucketDeletion, Task
from tests.support.completed_tasks import INFO
from tests.support.stack import free_port
from ytdlphost import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def location():
    """A key prefix of the test's own in the module's bucket."""
    return f"test-{secrets.token_hex(4)}"


@pytest.fixture
def in_bucket(bucket, location):
    with override_settings(**bucket.settings(location)):
        yield bucket


def stored_task(bucket, location, api_key, name, content, **fields):
    """A completed task whose file is in the bucket, as a worker leaves it."""
    task = Task.objects.create(
        api_key=api_key, task_type=fields.pop("task_type", "get_video"),
        url="http://example.com/v", status="completed", file_name=name,
        file_size=len(content), finished_at=timezone.now(), **fields,
    )  # fmt: skip
    bucket.put(f"{location}/{task.id}/{name}", content)
    return task


def body(response):
    return b"".join(response.streaming_content)


def test_every_file_of_the_task_folder_is_uploaded_in_parts(in_bucket, location, tmp_path):
    # Parts of 5 MiB, S3's smallest: a 12 MiB file is a multipart upload of three.
    content = secrets.token_bytes(12 * 1024 * 1024)
    (tmp_path / "video.mp4").write_bytes(content)
    (tmp_path / "video.en.vtt").write_text("WEBVTT\n")
    (tmp_path / ".partial-1").mkdir()  # a run's work directory: not a result
    with override_settings(S3_MULTIPART_CHUNKSIZE=5 * 1024 * 1024):
        assert storage.keep("task1", tmp_path, "video.mp4") == len(content)
    assert sorted(in_bucket.keys(f"{location}/task1/")) == [
        f"{location}/task1/video.en.vtt",
        f"{location}/task1/video.mp4",
    ]
    assert in_bucket.read(f"{location}/task1/video.mp4") == content
    assert [path.name for path in tmp_path.iterdir()] == [".partial-1"]


def test_a_failed_upload_fails_the_task_as_storage_failed_and_keeps_nothing(
    bucket, location, run_task, progressive_url
):
    missing = {**bucket.settings(location), "AWS_STORAGE_BUCKET_NAME": "no-such-bucket"}
    with override_settings(**missing):
        task, status = run_task("/get_video", {"url": progressive_url})
    assert status["status"] == "error"
    assert status["error_code"] == "storage_failed"
    assert status["error"] == storage.UPLOAD_FAILED  # no endpoint or bucket named
    assert not (settings.DOWNLOAD_DIR / task.id).exists()
    assert bucket.keys(f"{location}/{task.id}/") == []


def test_files_redirects_to_a_presigned_url_with_the_name_and_type(
    in_bucket, location, client, user
):
    task = stored_task(in_bucket, location, user[0], "video.mp4", b"media" * 100, title="Clip é")
    response = client.get(f"/files/{task.id}/video.mp4")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"  # as every answer of /files
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == b"media" * 100
    disposition = files.content_disposition("video.mp4", "Clip é")
    assert fetched.headers["Content-Disposition"] == disposition
    assert fetched.headers["Content-Type"] == "video/mp4"
    # A HEAD is signed for a HEAD.
    head = client.head(f"/files/{task.id}/video.mp4")
    assert requests.head(head["Location"], timeout=30).status_code == 200


def test_files_streams_whole_and_in_ranges_without_the_redirect(in_bucket, location, client, user):
    content = bytes(range(256)) * 40
    task = stored_task(in_bucket, location, user[0], "video.mp4", content)
    with override_settings(S3_PRESIGNED_REDIRECT=False):
        whole = client.get(f"/files/{task.id}/video.mp4")
        part = client.get(f"/files/{task.id}/video.mp4", HTTP_RANGE="bytes=100-199")
        tail = client.get(f"/files/{task.id}/video.mp4", HTTP_RANGE="bytes=-10")
        beyond = client.get(f"/files/{task.id}/video.mp4", HTTP_RANGE="bytes=999999-")
    assert whole.status_code == 200
    assert body(whole) == content
    assert whole["Content-Length"] == str(len(content))
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Disposition"] == files.content_disposition("video.mp4", "")
    assert (part.status_code, body(part)) == (206, content[100:200])
    assert part["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert body(tail) == content[-10:]
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(content)}"


def test_a_file_missing_from_the_bucket_is_404_and_an_unreachable_bucket_503(
    in_bucket, location, client, user
):
    task = stored_task(in_bucket, location, user[0], "video.mp4", b"x")
    in_bucket.server.client.delete_object(
        Bucket=in_bucket.name, Key=f"{location}/{task.id}/video.mp4"
    )
    with override_settings(S3_PRESIGNED_REDIRECT=False):
        assert client.get(f"/files/{task.id}/video.mp4").status_code == 404
        with override_settings(AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"):
            unreachable = client.get(f"/files/{task.id}/video.mp4")
    assert unreachable.status_code == 503
    assert unreachable.json() == {"error": "The file storage is unavailable; retry later"}


def test_info_json_fields_and_the_known_length_are_read_from_the_bucket(
    in_bucket, location, client, user
):
    from downloads_app.known_length import known_length

    task = stored_task(
        in_bucket, location, user[0], "info.json", json.dumps(INFO).encode(), task_type="get_info"
    )
    response = client.get(f"/files/{task.id}/info.json?title&duration")
    assert response.json() == {"title": "Fixture", "duration": 10}
    assert known_length(user[0], "http://example.com/v") == 10.0


def test_the_playlist_zip_streams_its_entries_from_the_bucket(in_bucket, location, client, user):
    playlist = Task.objects.create(
        api_key=user[0], task_type="get_playlist", url="http://example.com/list",
        status="completed", file_name="playlist.zip", title="Mix",
    )  # fmt: skip
    contents = [b"first" * 1000, b"second" * 1000]
    for position, content in enumerate(contents, 1):
        stored_task(
            in_bucket, location, user[0], "video.mp4", content, parent=playlist,
            position=position, title=f"Song {position}",
        )  # fmt: skip
    response = client.get(f"/files/{playlist.id}/playlist.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        assert archive.namelist() == ["1 - Song 1.mp4", "2 - Song 2.mp4"]
        assert [archive.read(name) for name in archive.namelist()] == contents


def expire(task):
    Task.objects.filter(pk=task.pk).update(
        finished_at=timezone.now() - timedelta(minutes=settings.TASK_CLEANUP_TIME + 1)
    )


def test_cleanup_retries_a_delete_that_failed_until_it_succeeds(in_bucket, location, user, caplog):
    task = stored_task(in_bucket, location, user[0], "video.mp4", b"x")
    expire(task)
    with override_settings(AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"):
        result = maintenance.cleanup_expired()
    assert result["tasks_deleted"] == 1
    assert result["bucket_left"] == 1
    pending = BucketDeletion.objects.get(pk=task.id)
    assert pending.attempts == 1 and "Could not connect" in pending.last_error
    assert in_bucket.keys(f"{location}/{task.id}/") != []
    assert "left for the next cleanup" in caplog.text

    result = maintenance.cleanup_expired()
    assert result["bucket_deleted"] == 1
    assert not BucketDeletion.objects.exists()
    assert in_bucket.keys(f"{location}/{task.id}/") == []


def test_deleting_a_task_deletes_its_objects_and_unfinished_uploads(in_bucket, location, user):
    task = stored_task(in_bucket, location, user[0], "video.mp4", b"x")
    client = in_bucket.server.client
    client.create_multipart_upload(Bucket=in_bucket.name, Key=f"{location}/{task.id}/big.mkv")
    lifecycle.task_delete(task.id)
    assert in_bucket.keys(f"{location}/{task.id}/") == []
    assert in_bucket.unfinished_uploads(f"{location}/{task.id}/") == []
    assert not BucketDeletion.objects.exists()


def test_the_sweep_deletes_prefixes_of_no_task(in_bucket, location, user):
    kept = stored_task(in_bucket, location, user[0], "video.mp4", b"x")
    in_bucket.put(f"{location}/gone-task/video.mp4", b"y")
    assert storage.sweep_orphan_prefixes() == 1
    assert in_bucket.keys(location) == [f"{location}/{kept.id}/video.mp4"]


def test_healthz_checks_the_bucket(in_bucket, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "storage", storage.health_check)
    monkeypatch.setitem(health.FAILURE_MESSAGES, "storage", "file storage unreachable")
    healthy = json.loads(health.health_response({"workers", "broker"}).content)
    assert healthy["checks"]["storage"] == {"ok": True, "deletions_pending": 0}
    with override_settings(AWS_STORAGE_BUCKET_NAME="no-such-bucket"):
        response = health.health_response({"workers", "broker"})
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["storage"] == {
        "ok": False, "error": "file storage unreachable",
    }  # fmt: skip


def test_a_failed_run_removes_its_objects_unless_a_later_run_owns_the_prefix(
    in_bucket, location, user
):
    failed = stored_task(in_bucket, location, user[0], "video.mp4", b"x", attempts=1)
    Task.objects.filter(pk=failed.pk).update(status="error")
    storage.discard_failed_run(failed)
    assert in_bucket.keys(f"{location}/{failed.id}/") == []

    # A late run (attempt 1) of a task that recovery gave to attempt 2, which completed.
    late = stored_task(in_bucket, location, user[0], "video.mp4", b"y", attempts=2)
    late.attempts = 1
    storage.discard_failed_run(late)
    assert in_bucket.keys(f"{location}/{late.id}/") == [f"{location}/{late.id}/video.mp4"]


@pytest.mark.parametrize(
    "changed, problem",
    [
        ({"AWS_STORAGE_BUCKET_NAME": ""}, "needs AWS_STORAGE_BUCKET_NAME"),
        ({"S3_MULTIPART_CHUNKSIZE": 1024 * 1024}, "must be at least 5M"),
        ({"AWS_S3_ADDRESSING_STYLE": "sideways"}, "is not auto, path or virtual"),
    ],
)
def test_a_bucket_misconfigured_is_a_system_check_error(in_bucket, changed, problem):
    from downloads_app.checks import bucket_settings_are_valid

    assert bucket_settings_are_valid(None) == []
    with override_settings(**changed):
        [error] = bucket_settings_are_valid(None)
    assert problem in error.msg
