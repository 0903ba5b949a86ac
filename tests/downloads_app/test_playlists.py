"""Playlists (issue 15): POST /get_playlist lists a playlist with flat extraction and
makes each entry an ordinary task under the playlist's task. Real yt-dlp reads an HTML
page of <video> elements and an RSS feed served from 127.0.0.1 as playlists."""

import io
import threading
import zipfile

import pytest
from django.db import connections

from downloads_app import directories, lifecycle, runner
from downloads_app.models import Task, TaskRequest, TaskStatus, TaskType, WebhookDelivery
from tests.support.media_files import ffprobe
from tests.support.media_server import MediaServer
from tests.support.playlists import write_feed, write_page


@pytest.fixture(scope="module")
def pages(tmp_path_factory, media_server):
    """A server of playlists whose entries are the session's media."""
    directory = tmp_path_factory.mktemp("playlists")
    progressive = media_server.url("progressive.mp4")
    hls = media_server.url("hls_vod/index.m3u8")
    write_page(directory, "three.html", "Three clips", [progressive, hls, progressive + "?2"])
    write_page(directory, "mixed.html", "Mixed", [progressive, media_server.url("gone.mp4")])
    write_page(directory, "gone.html", "Gone", [media_server.url(f"gone{n}.mp4") for n in (1, 2)])
    write_page(directory, "single.html", "One", [progressive])
    write_feed(directory, "feed.rss", "A feed", [("Episode one", progressive), ("Two", hls)])
    with MediaServer(directory) as server:
        yield server


def playlist(pages, page="three.html", **options):
    return {"url": pages.url(page), "type": "video", **options}


@pytest.fixture
def listed(user_client, queued, django_capture_on_commit_callbacks):
    """listed(body) -> the playlist task after its run listed it; its entries are queued
    (their ids in `queued`), not run."""

    def run(body):
        with django_capture_on_commit_callbacks(execute=True):
            response = user_client.post("/get_playlist", body, format="json")
        assert response.status_code == 200, response.json()
        assert response.json() == {"status": "waiting", "task_id": response.json()["task_id"]}
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            runner.task_run(response.json()["task_id"])
        return Task.objects.get(pk=response.json()["task_id"])

    return run


def zip_of(client, status):
    response = client.get(status["file"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.django_db
def test_a_page_of_three_videos_becomes_three_tasks_and_one_zip_of_their_files(
    pages, run_task, user_client, tmp_path
):
    parent, status = run_task("/get_playlist", playlist(pages))
    assert status["status"] == "completed", status
    assert status["task_type"] == "get_playlist"
    assert status["title"] == "Three clips"
    assert status["type"] == "video"
    assert status["counts"] == {"waiting": 0, "processing": 0, "completed": 3, "error": 0}
    children = status["children"]
    assert [(c["position"], c["title"], c["status"]) for c in children] == [
        (1, "Three clips (1)", "completed"),
        (2, "Three clips (2)", "completed"),
        (3, "Three clips (3)", "completed"),
    ]
    for child in children:  # ordinary tasks, with a /status and a file of their own
        own = user_client.get(f"/status/{child['task_id']}").json()
        assert own["task_type"] == "get_video"
        assert own["playlist"] == parent.id
        assert user_client.get(own["file"]).status_code == 200
    listed = user_client.get("/tasks", {"task_type": "get_video"}).json()["tasks"]
    assert {t["task_id"] for t in listed} == {c["task_id"] for c in children}

    archive = zip_of(user_client, status)
    assert archive.namelist() == ["1 - Three clips (1).mp4", "2 - Three clips (2).mp4",
                                  "3 - Three clips (3).mp4"]  # fmt: skip
    for member in archive.infolist():
        assert member.compress_type == zipfile.ZIP_STORED
        path = tmp_path / member.filename
        path.write_bytes(archive.read(member))
        streams = {s["codec_type"] for s in ffprobe(path)["streams"]}
        assert streams == {"video", "audio"}


@pytest.mark.django_db
def test_an_rss_feed_is_a_playlist_whose_webhook_fires_once_with_the_counts(pages, run_task):
    body = {**playlist(pages, "feed.rss", type="audio"), "webhook_url": "http://127.0.0.1:9/"}
    parent, status = run_task("/get_playlist", body)
    assert status["status"] == "completed", status
    assert status["title"] == "A feed"
    assert [c["title"] for c in status["children"]] == ["Episode one", "Two"]
    assert set(Task.objects.filter(parent=parent).values_list("task_type", flat=True)) == {
        TaskType.GET_AUDIO
    }
    deliveries = WebhookDelivery.objects.all()
    assert [(d.task_id, d.event_type) for d in deliveries] == [(parent.id, "task.completed")]
    assert '"counts":{"waiting":0,"processing":0,"completed":2,"error":0}' in deliveries[0].payload


@pytest.mark.django_db
def test_items_selects_a_subset_in_playlist_positions(pages, listed, queued):
    parent = listed(playlist(pages, items="1,3"))
    entries = list(parent.children.order_by("position").values_list("position", "title"))
    assert entries == [(1, "Three clips (1)"), (3, "Three clips (3)")]
    assert sorted(queued) == sorted(parent.children.values_list("id", flat=True))


@pytest.mark.django_db
def test_a_playlist_larger_than_playlist_max_items_fails_suggesting_items(pages, listed, settings):
    settings.PLAYLIST_MAX_ITEMS = 2
    parent = listed(playlist(pages))
    assert parent.status == TaskStatus.ERROR
    assert "more than 2 entries (PLAYLIST_MAX_ITEMS)" in parent.error
    assert '`items`, such as "1-2"' in parent.error
    assert not parent.children.exists()
    assert listed(playlist(pages, items="2-3")).children.count() == 2


@pytest.mark.django_db
def test_each_entry_counts_against_the_rate_limit_and_a_larger_playlist_is_refused_whole(
    pages, listed, user_client, settings
):
    settings.REQUEST_LIMIT = 4
    user_client.post("/get_info", {"url": pages.url("single.html")}, format="json")
    listed(playlist(pages, items="1-2"))
    assert TaskRequest.objects.count() == 3  # the single task and two entries
    refused = listed(playlist(pages))
    assert refused.status == TaskStatus.ERROR
    assert "this playlist needs 3 task requests, and the key may make 1 now" in refused.error
    assert refused.error_code == "key_rate_limited" and refused.retry_after
    assert "choose at most 1 with `items`" in refused.error
    assert not refused.children.exists()
    assert TaskRequest.objects.count() == 3
    listed(playlist(pages, items="3"))
    answer = user_client.post("/get_playlist", playlist(pages), format="json")
    assert answer.status_code == 429


@pytest.mark.django_db(transaction=True)
def test_rate_limit_accounting_is_exact_with_playlists_and_single_tasks_at_once(
    make_key, client_for, settings, monkeypatch
):
    monkeypatch.setattr(lifecycle, "enqueue", lambda task_id: None)
    settings.REQUEST_LIMIT = 5
    api_key, secret = make_key("racer", ["get_info", "get_video"])
    parents = [
        Task.objects.create(
            api_key=api_key,
            task_type=TaskType.GET_PLAYLIST,
            playlist_type=TaskType.GET_VIDEO,
            url="http://127.0.0.1:9/list",
            status=TaskStatus.PROCESSING,
            attempts=1,
        )  # fmt: skip
        for _ in range(3)
    ]
    entries = [{"position": n, "url": f"http://127.0.0.1:9/{n}", "title": ""} for n in (1, 2)]
    singles, start = [], threading.Barrier(len(parents) + 5)

    def expand(parent):
        start.wait()
        try:
            lifecycle.playlist_expand(Task.objects.get(pk=parent.pk), "list", entries)
        finally:
            connections.close_all()

    def single():
        client = client_for(secret)
        start.wait()
        try:
            url = "http://127.0.0.1:9/one"
            singles.append(client.post("/get_info", {"url": url}, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=expand, args=(p,)) for p in parents]
    threads += [threading.Thread(target=single) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expanded = Task.objects.filter(pk__in=[p.pk for p in parents], expanded_at__isnull=False)
    children = Task.objects.filter(parent__isnull=False).count()
    assert children == 2 * expanded.count()  # each playlist whole, or not at all
    assert TaskRequest.objects.count() == singles.count(200) + children == 5
    refused = Task.objects.filter(pk__in=[p.pk for p in parents], status=TaskStatus.ERROR)
    assert refused.count() == len(parents) - expanded.count()
    assert all("this playlist needs 2 task requests" in p.error for p in refused)


@pytest.mark.django_db
def test_cancelling_the_playlist_stops_every_entry(pages, listed, user_client, queued):
    parent = listed(playlist(pages))
    running = lifecycle.task_claim(queued[0])  # one entry running, two waiting
    assert running is not None
    answer = user_client.post(f"/cancel/{parent.id}", {}, format="json")
    assert answer.status_code == 200
    assert answer.json()["status"] == "error" and answer.json()["cancelled"]
    entries = parent.children.all()
    assert {(e.status, e.cancelled, e.error) for e in entries} == {("error", True, "Cancelled")}
    for task_id in queued:  # their queue messages arrive: nothing starts
        runner.task_run(task_id)
    assert not any(directories.task_dir(e.id).exists() for e in entries)
    assert [e.status for e in parent.children.all()] == ["error"] * 3


@pytest.mark.django_db
def test_a_playlist_with_a_failed_entry_completes_listing_it_and_retry_runs_it_again(
    pages, run_task, user_client, django_capture_on_commit_callbacks
):
    parent, status = run_task("/get_playlist", playlist(pages, "mixed.html"))
    assert status["status"] == "completed"
    assert status["counts"]["completed"] == 1 and status["counts"]["error"] == 1
    failed = status["children"][1]
    assert failed["status"] == "error" and failed["error"]
    assert failed["error_code"] == "not_found"
    with django_capture_on_commit_callbacks(execute=True):
        answer = user_client.post(f"/retry/{parent.id}")
    assert answer.status_code == 200, answer.json()
    assert Task.objects.get(pk=failed["task_id"]).attempts == 1  # it ran again
    again = user_client.get(f"/status/{parent.id}").json()
    assert again["status"] == "completed" and again["counts"]["error"] == 1
    assert len(zip_of(user_client, again).namelist()) == 1


@pytest.mark.django_db
def test_a_playlist_whose_every_entry_failed_is_an_error(pages, run_task):
    _, status = run_task("/get_playlist", playlist(pages, "gone.html"))
    assert status["status"] == "error"
    assert status["error"] == lifecycle.ALL_ENTRIES_FAILED
    assert status["error_code"] == "entries_failed"
    assert status["counts"]["error"] == 2


@pytest.mark.django_db
def test_deleting_the_playlist_deletes_its_entries(pages, listed, user_client):
    parent = listed(playlist(pages))
    entry_ids = list(parent.children.values_list("id", flat=True))
    assert user_client.delete(f"/delete_task/{parent.id}").status_code == 200
    assert not Task.objects.filter(pk__in=[parent.id, *entry_ids]).exists()


@pytest.mark.django_db
def test_a_playlist_url_sent_to_get_video_names_get_playlist(pages, run_task):
    task, status = run_task("/get_video", {"url": pages.url("three.html")})
    assert status["status"] == "error"
    assert "/get_playlist" in status["error"]


@pytest.mark.django_db
def test_a_single_video_is_not_a_playlist(pages, listed):
    parent = listed(playlist(pages, "single.html"))
    assert parent.status == TaskStatus.ERROR
    assert "not a playlist; use /get_video" in parent.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "image"}, "type"),
        ({"items": "one"}, "items"),
        ({"type": "audio", "video_format": "bestvideo"}, "video_format"),
        ({"type": "audio", "output_format": "mp4"}, "output_format"),
        ({"start": 3}, "start"),
    ],
)
def test_a_bad_playlist_request_is_a_400_naming_the_field(user_client, body, field):
    answer = user_client.post("/get_playlist", playlist_body(body), format="json")
    assert answer.status_code == 400
    assert field in answer.json()["error"]


def playlist_body(extra):
    return {"url": "http://127.0.0.1:9/list.html", "type": "video", **extra}


@pytest.mark.django_db
def test_a_playlist_needs_the_permission_of_its_type(make_key, client_for):
    client = client_for(make_key("listener", ["get_audio"])[1])
    video = client.post("/get_playlist", playlist_body({}), format="json")
    assert video.status_code == 403
    assert video.json()["error"] == "Insufficient permissions: needs get_video"
    audio = client.post("/get_playlist", playlist_body({"type": "audio"}), format="json")
    assert audio.status_code == 200


@pytest.mark.django_db
def test_entries_get_the_playlists_filename_and_library_with_its_title_and_their_index(
    pages, run_task, make_key, client_for, settings, tmp_path
):
    settings.LIBRARY_DIR = tmp_path
    settings.LIBRARY_TEMPLATE = "%(playlist_title)s/%(playlist_index)02d %(title)s"
    client = client_for(make_key("collector", ["get_video", "library"])[1])
    template = "%(playlist_index)03d %(playlist_title)s - %(title)s"
    body = playlist(pages, items="1", filename=template, library=True)
    parent, status = run_task("/get_playlist", body, client=client)
    assert status["status"] == "completed" and status["library_path"] is None
    child = parent.children.get()
    assert (child.filename_template, child.library) == (template, True)
    assert child.file_name == "001 Three clips - progressive.mp4"
    assert child.library_path == "Three clips/01 progressive.mp4"
    assert (tmp_path / child.library_path).is_file()
    assert zip_of(client, status).namelist() == ["001 Three clips - progressive.mp4"]


def test_the_entries_get_the_playlist_s_media_options(user, queued):
    options = {"subtitles": ["en"], "embed_subtitles": False, "embed_thumbnail": False}
    parent = Task.objects.create(
        api_key=user[0], task_type=TaskType.GET_PLAYLIST, playlist_type=TaskType.GET_VIDEO,
        url="http://127.0.0.1:9/list", status=TaskStatus.PROCESSING, attempts=1,
        media_options=options,
    )  # fmt: skip
    entries = [{"position": n, "url": f"http://127.0.0.1:9/{n}", "title": ""} for n in (1, 2)]
    lifecycle.playlist_expand(parent, "list", entries)
    assert [child.media_options for child in parent.children.all()] == [options, options]


@pytest.mark.django_db
def test_the_zip_holds_each_entry_s_subtitles_beside_it_but_not_its_thumbnail(user, user_client):
    parent = Task.objects.create(
        api_key=user[0], task_type=TaskType.GET_PLAYLIST, playlist_type=TaskType.GET_AUDIO,
        url="http://127.0.0.1:9/list", status=TaskStatus.COMPLETED, file_name="playlist.zip",
        title="List",
    )  # fmt: skip
    extra_files = [
        {"name": "audio.en.vtt", "size": 7, "kind": "subtitles"},
        {"name": "audio.jpg", "size": 2, "kind": "thumbnail"},
    ]
    for position in (1, 2):
        child = Task.objects.create(
            api_key=user[0], task_type=TaskType.GET_AUDIO, parent=parent, position=position,
            url=f"http://127.0.0.1:9/{position}", status=TaskStatus.COMPLETED,
            file_name="audio.mp3", title=f"Song {position}", extra_files=extra_files,
        )  # fmt: skip
        directory = directories.task_dir(child.id)
        directory.mkdir(parents=True)
        for name, content in (
            ("audio.mp3", b"ID3"),
            ("audio.en.vtt", b"WEBVTT\n"),
            ("audio.jpg", b"\xff\xd8"),
        ):
            (directory / name).write_bytes(content)
    archive = zip_of(user_client, {"file": parent.file_url})
    assert archive.namelist() == [
        "1 - Song 1.mp3", "1 - Song 1.en.vtt", "2 - Song 2.mp3", "2 - Song 2.en.vtt",
    ]  # fmt: skip
    assert archive.read("2 - Song 2.en.vtt") == b"WEBVTT\n"
