"""GET /files/<task_id>/<name>: capability URLs, Range, info.json field selection."""

import json

import pytest
from django.conf import settings

from downloads_app.models import Task
from tests.support.completed_tasks import INFO, completed_task
from tests.support.media_fixtures import MEDIA_CACHE_DIR
from tests.support.media_server import MediaServer

pytestmark = pytest.mark.django_db

CONTENT = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def video(user):
    return completed_task(user[0], "video.mp4", CONTENT)


@pytest.fixture
def info_task(user):
    return completed_task(user[0], "info.json", json.dumps(INFO).encode(), "get_info")


def body(response):
    return b"".join(response.streaming_content)


def test_a_file_is_served_without_a_key(client, video):
    response = client.get(f"/files/{video.id}/video.mp4")
    assert response.status_code == 200
    assert body(response) == CONTENT
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(CONTENT))
    assert 'filename="video.mp4"' in response["Content-Disposition"]
    assert response["Accept-Ranges"] == "bytes"


def test_a_range_request_gets_206_and_those_bytes(client, video):
    response = client.get(f"/files/{video.id}/video.mp4", HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert body(response) == CONTENT[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(CONTENT)}"


def test_open_and_suffix_ranges(client, video):
    tail = client.get(f"/files/{video.id}/video.mp4", HTTP_RANGE="bytes=-10")
    assert body(tail) == CONTENT[-10:]
    rest = client.get(f"/files/{video.id}/video.mp4", HTTP_RANGE="bytes=10000-")
    assert body(rest) == CONTENT[10000:]


def test_an_unsatisfiable_range_is_416(client, video):
    response = client.get(f"/files/{video.id}/video.mp4", HTTP_RANGE="bytes=999999-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(CONTENT)}"


def test_files_can_require_the_owner_key(client, client_for, user, make_key, video, settings):
    settings.FILES_REQUIRE_KEY = True
    assert client.get(f"/files/{video.id}/video.mp4").status_code == 401
    _, stranger = make_key("stranger", ["get_video"])
    assert client_for(stranger).get(f"/files/{video.id}/video.mp4").status_code == 404
    assert client_for(user[1]).get(f"/files/{video.id}/video.mp4").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/files/{id}/other.mp4",
        "/files/{id}/..%2f..%2fsecret_key",
        "/files/{id}/%2e%2e",
        "/files/..%2f{id}/video.mp4",
        "/files/{id}/video.mp4%00",
        "/files/nope/video.mp4",
        "/files/{id}/../../secret_key",
        "/files/%2fetc%2fpasswd/video.mp4",
    ],
)
def test_paths_that_are_not_the_tasks_file_are_404(client, video, path):
    response = client.get(path.format(id=video.id))
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_file_replaced_by_a_symlink_is_not_followed(client, video, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    path = settings.DOWNLOAD_DIR / video.id / "video.mp4"
    path.unlink()
    path.symlink_to(outside)
    assert client.get(f"/files/{video.id}/video.mp4").status_code == 404


def test_the_file_of_an_unfinished_task_is_404(client, video):
    Task.objects.filter(pk=video.pk).update(status="processing")
    assert client.get(f"/files/{video.id}/video.mp4").status_code == 404


def test_info_json_without_query_is_the_whole_document(client, info_task):
    response = client.get(f"/files/{info_task.id}/info.json")
    assert json.loads(body(response)) == INFO


def test_bare_parameter_names_select_fields(client, info_task):
    response = client.get(f"/files/{info_task.id}/info.json?title&duration&")
    assert response.json() == {"title": "Fixture", "duration": 10}


def test_qualities_summarizes_formats_and_tolerates_missing_fields(client, info_task):
    qualities = client.get(f"/files/{info_task.id}/info.json?qualities").json()["qualities"]
    assert qualities["audio"] == {
        "a1": {"abr": 128, "acodec": "mp4a.40.2", "audio_channels": 2, "filesize": 1000}
    }
    assert qualities["video"]["v1"] == {
        "height": 144, "width": 256, "fps": 25, "vcodec": "avc1", "format_note": "144p",
        "dynamic_range": "SDR", "filesize": 5000,
    }  # fmt: skip
    assert qualities["video"]["v2"]["height"] == 360
    assert qualities["video"]["v2"]["fps"] is None
    assert "sb0" not in qualities["video"] and "sb0" not in qualities["audio"]


def test_unknown_fields_are_404(client, info_task):
    response = client.get(f"/files/{info_task.id}/info.json?nothing&here")
    assert response.status_code == 404
    assert "nothing" in response.json()["error"]


def test_qualities_of_the_real_dash_fixture_lists_every_height(run_task, client, dash_url):
    task, status = run_task("/get_info", {"url": dash_url})
    qualities = client.get(f"{status['file']}?qualities").json()["qualities"]
    assert sorted(q["height"] for q in qualities["video"].values()) == [144, 240, 360]
    assert len(qualities["audio"]) == 1


def test_fields_the_document_lacks_are_listed_as_missing(client, info_task):
    response = client.get(f"/files/{info_task.id}/info.json?title&uploader&qualities&chapters")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Fixture" and "qualities" in body
    assert body["missing"] == ["uploader", "chapters"]


def test_a_document_without_a_format_list_reports_its_single_format(client, user):
    # yt-dlp leaves `formats` out when the extractor gave one media URL, its fields at
    # the top level.
    document = {
        "title": "Direct", "url": "http://example.com/v.mp4", "format_id": "0", "ext": "mp4",
        "height": 720, "width": 1280, "fps": 30, "vcodec": "avc1.64001f",
        "acodec": "mp4a.40.2", "filesize": 123456,
    }  # fmt: skip
    task = completed_task(user[0], "info.json", json.dumps(document).encode(), "get_info")
    qualities = client.get(f"/files/{task.id}/info.json?qualities").json()["qualities"]
    assert qualities == {
        "audio": {},
        "video": {
            "0": {
                "height": 720, "width": 1280, "fps": 30, "vcodec": "avc1.64001f",
                "format_note": None, "dynamic_range": None, "filesize": 123456,
            }
        },
    }  # fmt: skip


def test_a_single_listed_format_takes_what_it_lacks_from_the_top_level(client, user):
    document = {
        "format_id": "mp4", "height": 360, "vcodec": "avc1", "filesize_approx": 9000,
        "formats": [{"format_id": "mp4", "ext": "mp4", "vcodec": None}],
    }  # fmt: skip
    task = completed_task(user[0], "info.json", json.dumps(document).encode(), "get_info")
    video = client.get(f"/files/{task.id}/info.json?qualities").json()["qualities"]["video"]
    assert video["mp4"]["height"] == 360
    assert video["mp4"]["vcodec"] == "avc1"
    assert video["mp4"]["filesize"] == 9000


def test_missing_fields_of_the_real_progressive_fixture_are_listed(
    run_task, client, progressive_url
):
    _, status = run_task("/get_info", {"url": progressive_url})
    response = client.get(f"{status['file']}?title&release_date")
    assert response.status_code == 200
    assert response.json() == {"title": "progressive", "missing": ["release_date"]}


def test_a_direct_file_without_a_format_list_still_has_qualities(
    run_task, client, media_root, tmp_path
):
    # Served as application/octet-stream, the progressive fixture is a direct link that
    # yt-dlp returns without a format list.
    (tmp_path / "progressive.bin").write_bytes((media_root / "progressive.mp4").read_bytes())
    with MediaServer(tmp_path) as server:
        task, status = run_task("/get_info", {"url": server.url("progressive.bin")})
    document = json.loads((settings.DOWNLOAD_DIR / task.id / "info.json").read_text())
    assert "formats" not in document
    qualities = client.get(f"{status['file']}?qualities").json()["qualities"]
    assert list(qualities["video"]) == [document["format_id"]]


def test_a_direct_file_is_described_by_what_is_inside_it(run_task, client, progressive_url):
    # yt-dlp never looks inside a direct link; ffprobe does (through the egress relay).
    _, status = run_task("/get_info", {"url": progressive_url})
    (quality,) = client.get(f"{status['file']}?qualities").json()["qualities"]["video"].values()
    size = (MEDIA_CACHE_DIR / "progressive.mp4").stat().st_size
    assert (quality["width"], quality["height"], quality["vcodec"]) == (320, 180, "h264")
    assert quality["fps"] == 25 and quality["filesize"] == size
    document = client.get(f"{status['file']}?duration&acodec").json()
    assert document["acodec"] == "aac" and document["duration"] == pytest.approx(10, abs=0.2)


def test_missing_fields_of_the_real_dash_fixture_are_listed(run_task, client, dash_url):
    _, status = run_task("/get_info", {"url": dash_url})
    body = client.get(f"{status['file']}?title&qualities&release_date").json()
    assert body["title"] == "manifest" and body["qualities"]["video"]
    assert body["missing"] == ["release_date"]


def test_a_whole_file_is_sent_in_chunk_size_pieces(client, user):
    # Each piece crosses from a thread to the event loop: Django's 4 KB default cost 50
    # times the CPU per MB (bench/file_stream.py).
    from downloads_app.files import CHUNK_SIZE

    task = completed_task(user[0], "video.mp4", b"x" * (CHUNK_SIZE * 3 + 1))
    pieces = list(client.get(f"/files/{task.id}/video.mp4").streaming_content)
    assert [len(piece) for piece in pieces] == [CHUNK_SIZE] * 3 + [1]
