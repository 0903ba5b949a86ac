"""Input validation, permissions and the answer of the five task endpoints (no download:
the task is only queued, since these tests never commit)."""

import json

import pytest

from downloads_app.models import Task

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/video.mp4"

ENDPOINTS = {
    "/get_video": {"url": URL},
    "/get_audio": {"url": URL},
    "/get_live_video": {"url": URL, "duration": 10},
    "/get_live_audio": {"url": URL, "duration": 10},
    "/get_info": {"url": URL},
}


@pytest.mark.parametrize(("endpoint", "body"), ENDPOINTS.items())
def test_a_valid_request_answers_waiting_with_a_task_id(user_client, endpoint, body):
    response = user_client.post(endpoint, body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "waiting"
    task = Task.objects.get(pk=data["task_id"])
    assert task.task_type == endpoint.lstrip("/")
    assert len(task.id) >= 16


@pytest.mark.parametrize(("endpoint", "body"), ENDPOINTS.items())
def test_each_endpoint_needs_its_own_permission_and_says_which(
    make_key, client_for, endpoint, body
):
    from keys_app.models import PERMISSIONS

    _, secret = make_key("other", [p for p in PERMISSIONS if p != endpoint.lstrip("/")])
    response = client_for(secret).post(endpoint, body, format="json")
    assert response.status_code == 403
    assert response.json() == {"error": f"Insufficient permissions: needs {endpoint[1:]}"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_needs_a_key(client_for, endpoint):
    response = client_for().post(endpoint, ENDPOINTS[endpoint], format="json")
    assert response.status_code == 401


def test_the_reference_client_body_is_accepted(user_client):
    body = {
        "url": URL,
        "video_format": "bestvideo[height<=1080]",
        "audio_format": "bestaudio[abr<=129]",
        "output_format": "mp4",
        "force_keyframes": False,
        "start_time": "00:00:05",
        "end_time": 20,
    }
    response = user_client.post("/get_video", body, format="json")
    assert response.status_code == 200
    task = Task.objects.get(pk=response.json()["task_id"])
    assert (task.start_time, task.end_time, task.output_format) == (5.0, 20.0, "mp4")


def test_string_filters_that_are_not_regular_expressions_are_accepted(user_client):
    selector = "bestvideo[format_id*=dash][ext^=mp][vcodec!=none][format_note$='p']"
    response = user_client.post("/get_video", {"url": URL, "video_format": selector}, format="json")
    assert response.status_code == 200
    assert Task.objects.get().video_format == selector


BAD_INPUT = [
    ("/get_video", {}, "url"),
    ("/get_video", {"url": "ftp://example.com/a.mp4"}, "http"),
    ("/get_video", {"url": "file:///etc/passwd"}, "http"),
    ("/get_video", {"url": "not a url"}, "url"),
    ("/get_video", {"url": "http://"}, "url"),
    ("/get_video", {"url": 42}, "url"),
    ("/get_video", {"url": "http://example.com/" + "a" * 3000}, "url"),
    ("/get_video", {"url": URL, "output_format": "exe"}, "output_format"),
    ("/get_video", {"url": URL, "output_format": "mp3"}, "output_format"),
    ("/get_audio", {"url": URL, "output_format": "mp4"}, "output_format"),
    ("/get_video", {"url": URL, "start_time": "soon"}, "start_time"),
    ("/get_video", {"url": URL, "start_time": -3}, "start_time"),
    ("/get_video", {"url": URL, "start_time": 10, "end_time": 5}, "end_time"),
    ("/get_video", {"url": URL, "force_keyframes": "yes"}, "force_keyframes"),
    ("/get_video", {"url": URL, "video_format": ["best"]}, "video_format"),
    ("/get_video", {"url": URL, "video_format": "b" * 600}, "video_format"),
    ("/get_video", {"url": URL, "audio_format": "ba\x07x"}, "audio_format"),
    # Regular-expression filters: `(a+)+!` backtracks for minutes (ReDoS).
    ("/get_video", {"url": URL, "video_format": "bestvideo[url~='(a+)+!']"}, "video_format"),
    ("/get_video", {"url": URL, "audio_format": "ba[format_id !~= 'x']"}, "audio_format"),
    ("/get_audio", {"url": URL, "audio_format": "bestaudio[ext~=m4a]/ba"}, "audio_format"),
    ("/get_live_video", {"url": URL, "duration": 10, "video_format": "bv[url~=a]"}, "video_format"),
    ("/get_video", {"url": URL, "colour": "red"}, "colour"),
    ("/get_live_video", {"url": URL}, "duration"),
    ("/get_live_video", {"url": URL, "duration": 0}, "duration"),
    ("/get_live_video", {"url": URL, "duration": -5}, "duration"),
    ("/get_live_video", {"url": URL, "duration": 10**6}, "duration"),
    ("/get_live_audio", {"url": URL, "duration": 10, "start": "x"}, "start"),
    ("/get_live_audio", {"url": URL, "duration": 10, "start_time": 3}, "start_time"),
    ("/get_info", {"url": URL, "output_format": "mp4"}, "output_format"),
]


@pytest.mark.parametrize(("endpoint", "body", "field"), BAD_INPUT)
def test_bad_input_is_a_400_naming_the_field_and_creates_no_task(
    user_client, endpoint, body, field
):
    response = user_client.post(endpoint, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert not Task.objects.exists()


def test_private_addresses_are_refused_unless_allowed(user_client, settings):
    settings.ALLOW_PRIVATE_URLS = False
    for url in ["http://127.0.0.1/a.mp4", "http://10.0.0.1/a", "http://[::1]/a",
                "http://169.254.169.254/latest/meta-data", "http://localhost:8000/"]:  # fmt: skip
        response = user_client.post("/get_info", {"url": url}, format="json")
        assert response.status_code == 400, url
        assert "private" in response.json()["error"]


def test_a_task_is_logged_created_before_its_queue_message_is_sent(
    user_client, monkeypatch, django_capture_on_commit_callbacks
):
    # A worker woken by the message logs "processing" at once: "created" must come first.
    events = []
    monkeypatch.setattr(
        "downloads_app.lifecycle.log_created", lambda task, api_key: events.append("created")
    )
    monkeypatch.setattr(
        "downloads_app.lifecycle.async_task", lambda func, task_id, **kw: events.append("queued")
    )
    with django_capture_on_commit_callbacks(execute=True):
        user_client.post("/get_info", {"url": URL}, format="json")
    assert events == ["created", "queued"]


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("/get_video", {"url": URL, "video_format": "best[height<=abc"}, "video_format"),
        ("/get_video", {"url": URL, "video_format": "best[height<=abc]"}, "video_format"),
        ("/get_video", {"url": URL, "audio_format": "ba+"}, "audio_format"),
        ("/get_audio", {"url": URL, "audio_format": "((bestaudio"}, "audio_format"),
        ("/get_live_video", {"url": URL, "duration": 5, "video_format": "bv["}, "video_format"),
    ],
)
def test_a_selector_yt_dlp_cannot_parse_is_a_400_naming_the_field_with_an_example(
    user_client, endpoint, body, field
):
    response = user_client.post(endpoint, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith(f"{field}: is not a yt-dlp format selector (Invalid ")
    assert 'for example "best' in error
    assert not Task.objects.exists()


def test_a_height_written_as_720p_gets_the_selector_that_means_it(user_client):
    response = user_client.post("/get_video", {"url": URL, "video_format": "720p"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == (
        'video_format: "720p" is not a format selector; for video at most 720 pixels high, '
        'use "bestvideo[height<=720]"'
    )


def looked_up(api_key, url, document):
    """A completed get_info task of `url`, as the web page runs one for the qualities."""
    from django.conf import settings

    task = Task.objects.create(
        api_key=api_key, task_type="get_info", url=url, status="completed", file_name="info.json"
    )
    (settings.DOWNLOAD_DIR / task.id).mkdir(parents=True)
    (settings.DOWNLOAD_DIR / task.id / "info.json").write_text(json.dumps(document))
    return task


def test_a_clip_after_the_end_of_media_the_key_looked_up_is_refused_at_once(user, user_client):
    looked_up(user[0], URL, {"title": "Twenty seconds", "duration": 20})
    body = {"url": URL, "start_time": "01:00:00", "end_time": "01:00:05"}
    response = user_client.post("/get_video", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "start_time: The clip starts at 01:00:00, after the end of the media, which is "
        "00:00:20 long: choose a start_time before 00:00:20"
    )
    assert not Task.objects.exclude(task_type="get_info").exists()


def test_a_clip_inside_it_or_of_media_of_unknown_length_is_accepted(user, user_client):
    looked_up(user[0], URL, {"title": "Twenty seconds", "duration": 20})
    looked_up(user[0], URL + "?other", {"title": "No duration"})
    for url, start in ((URL, 19), (URL + "?other", 3600), (URL + "?never-looked-up", 3600)):
        body = {"url": url, "start_time": start}
        assert user_client.post("/get_audio", body, format="json").status_code == 200, url
