"""GET /files/<id>/<name> off Django's request cycle (downloads_app/fast_routes/files.py)
answers exactly what FileView answers for a completed task's small file, whole, and
leaves every other case to it.

Compared with the view through the real entry point, for every credential and request
shape, in tests/ytdlphost/test_fast_path_equivalence.py; here, what a unit shows."""

import json

import pytest
from django.conf import settings

from downloads_app.fast_routes import files as files_route
from downloads_app.models import Task
from tests.support.completed_tasks import INFO, completed_task
from tests.support.fast_answers import assert_same_answer, fast_request

ROUTE = "files/<segment:task_id>/<segment:name>"

pytestmark = pytest.mark.django_db

MEDIA = bytes(range(256)) * 400  # 100 KiB


def file_request(task_id, name, secret=None, query=None, headers=None):
    key = {"x-api-key": secret} if secret else {}
    return fast_request({"task_id": task_id, "name": name}, query, {**key, **(headers or {})})


@pytest.fixture
def info_task(user):
    return completed_task(user[0], "info.json", json.dumps(INFO).encode(), "get_info")


@pytest.fixture
def media_task(user):
    task = completed_task(user[0], "audio.m4a", MEDIA, "get_audio")
    Task.objects.filter(pk=task.pk).update(title="Ünïcode: «title» ✓")
    return task


def test_a_media_file_with_a_non_ascii_title_is_the_views_answer(client, media_task):
    answer = files_route.file_answer(file_request(media_task.id, "audio.m4a"))
    assert_same_answer(answer, client.get(f"/files/{media_task.id}/audio.m4a"), ROUTE)
    disposition = dict(answer.headers)[b"content-disposition"]
    assert b"filename*=UTF-8''%C3%9Cn%C3%AFcode" in disposition


def test_a_file_named_by_its_template_is_saved_under_that_name_by_both(client, user):
    name = "Caf\u00e9 [abc].m4a"
    task = completed_task(user[0], name, MEDIA, "get_audio")
    Task.objects.filter(pk=task.pk).update(title="Another title", filename_template="%(title)s")
    answer = files_route.file_answer(file_request(task.id, name))
    assert_same_answer(answer, client.get(f"/files/{task.id}/{name}"), ROUTE)
    disposition = dict(answer.headers)[b"content-disposition"]
    assert disposition == b'attachment; filename="Cafe [abc].m4a"; ' + (
        b"filename*=UTF-8''Caf%C3%A9%20%5Babc%5D.m4a"
    )


def test_with_files_require_key_a_deleted_key_is_refused_at_once(settings, make_key, media_task):
    settings.FILES_REQUIRE_KEY = True
    overseer, secret = make_key("overseer", ["get_keys"])  # not the owner: the task stays
    assert files_route.file_answer(file_request(media_task.id, "audio.m4a", secret)) is not None
    overseer.delete()
    assert files_route.file_answer(file_request(media_task.id, "audio.m4a", secret)) is None


def test_a_missing_file_or_an_unfinished_task_is_left_to_the_view(media_task):
    (settings.DOWNLOAD_DIR / media_task.id / "audio.m4a").unlink()
    assert files_route.file_answer(file_request(media_task.id, "audio.m4a")) is None
    Task.objects.filter(pk=media_task.pk).update(status="processing")
    assert files_route.file_answer(file_request(media_task.id, "audio.m4a")) is None


@pytest.mark.parametrize(
    ("task_id", "name"),
    [
        ("{id}", "other.m4a"),
        ("{id}", "../../secret_key"),
        ("{id}", ".."),
        ("../{id}", "audio.m4a"),
        ("{id}", "audio.m4a\x00"),
        ("nope", "audio.m4a"),
        ("/etc/passwd", "audio.m4a"),
    ],
)
def test_paths_that_are_not_the_task_s_file_are_left_to_the_view(media_task, task_id, name):
    request = file_request(task_id.format(id=media_task.id), name)
    assert files_route.file_answer(request) is None


def test_a_file_replaced_by_a_symlink_is_left_to_the_view(media_task, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    path = settings.DOWNLOAD_DIR / media_task.id / "audio.m4a"
    path.unlink()
    path.symlink_to(outside)
    assert files_route.file_answer(file_request(media_task.id, "audio.m4a")) is None


def test_ranges_queries_playlists_and_large_files_are_left_to_the_view(
    user, info_task, media_task, monkeypatch
):
    ranged = file_request(media_task.id, "audio.m4a", headers={"range": "bytes=0-9"})
    assert files_route.file_answer(ranged) is None
    fields = file_request(info_task.id, "info.json", query={"title": ""})
    assert files_route.file_answer(fields) is None
    playlist = completed_task(user[0], "playlist.zip", b"", "get_playlist")
    assert files_route.file_answer(file_request(playlist.id, "playlist.zip")) is None
    monkeypatch.setattr(files_route, "FAST_FILE_MAX_BYTES", len(MEDIA) - 1)
    assert files_route.file_answer(file_request(media_task.id, "audio.m4a")) is None


def test_an_accept_the_view_refuses_is_left_to_it(client, media_task):
    assert client.get(f"/files/{media_task.id}/audio.m4a", HTTP_ACCEPT="audio/mp4").status_code == (
        406
    )
    refused = file_request(media_task.id, "audio.m4a", headers={"accept": "audio/mp4"})
    assert files_route.file_answer(refused) is None
    player = file_request(media_task.id, "audio.m4a", headers={"accept": "audio/*, */*;q=0.5"})
    assert files_route.file_answer(player).status == 200
