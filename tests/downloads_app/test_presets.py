"""Presets: checked as a request of their type, edited in the admin, loaded from a file,
listed per key by GET /presets, and applied to a request (whose own fields win). Nothing
is downloaded: tasks are only created."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from downloads_app.models import Preset, Task

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/video.mp4"
DOCS_PRESETS = Path(__file__).resolve().parents[2] / "docs" / "presets.json"


def preset(name, task_type="get_video", **options):
    """A preset saved as the admin and the command save one (checked by full_clean)."""
    made = Preset(name=name, task_type=task_type, options=options)
    made.full_clean()
    made.save()
    return made


@pytest.mark.parametrize(
    ("task_type", "options", "field", "error"),
    [
        ("get_video", {"video_format": "best[height~=x]"}, "options", "regular-expression"),
        ("get_video", {"video_format": "720p"}, "options", "bestvideo[height<=720]"),
        ("get_audio", {"output_format": "mp4"}, "options", "must be one of mp3"),
        ("get_audio", {"video_format": "bestvideo"}, "options", "unknown fields for get_audio"),
        ("get_video", {"url": URL}, "options", "a preset cannot set url"),
        ("get_video", {"preset": "other"}, "options", "a preset cannot set preset"),
        ("get_video", ["mp4"], "options", "must be a JSON object"),
        ("get_live_video", {"output_format": "mkv"}, "options", "duration: This field is"),
        ("get_playlist", {"output_format": "mp4"}, "options", "type: This field is required"),
        ("get_nothing", {}, "task_type", "is not a valid choice"),
    ],
)
def test_a_presets_options_are_checked_by_its_types_request_serializer(
    task_type, options, field, error
):
    with pytest.raises(ValidationError) as raised:
        Preset(name="bad", task_type=task_type, options=options).full_clean()
    assert error in " ".join(raised.value.message_dict[field])


def test_a_preset_keeps_its_options_as_given_and_needs_its_types_permission():
    made = preset("Clip", video_format="bestvideo[height<=480]", start_time="0:30")
    assert made.options == {"video_format": "bestvideo[height<=480]", "start_time": "0:30"}
    assert made.required_permissions == ["get_video"]
    assert preset(" Spaced ", "get_info").name == "Spaced"  # as a request will name it
    with pytest.raises(ValidationError, match="must not be blank"):
        Preset(name="  ", task_type="get_info").full_clean()
    playlist = preset("Album", "get_playlist", type="audio", output_format="mp3")
    assert playlist.required_permissions == ["get_audio"]
    # `library: true` (a request field of the library's) also needs the permission of it.
    assert Preset(task_type="get_video", options={"library": True}).required_permissions == [
        "get_video", "library",
    ]  # fmt: skip


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("operator", "o@example.com", "pw"))
    return client


def test_the_admin_creates_a_preset_and_shows_bad_options_on_the_field(admin_client):
    form = {
        "name": "Jellyfin 1080p",
        "description": "For the media server",
        "task_type": "get_video",
        "options": json.dumps({"video_format": "bestvideo[height<=1080]", "output_format": "mp4"}),
    }
    response = admin_client.post("/admin/downloads_app/preset/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    made = Preset.objects.get(name="Jellyfin 1080p")
    assert made.options["output_format"] == "mp4"
    change = admin_client.get(f"/admin/downloads_app/preset/{made.pk}/change/")
    assert change.status_code == 200 and b"bestvideo[height&lt;=1080]" in change.content
    listing = admin_client.get("/admin/downloads_app/preset/?q=jellyfin")
    assert b"Jellyfin 1080p" in listing.content and b"output_format=mp4" in listing.content
    for options, error in (
        ({"output_format": "mp3"}, "output_format: must be one of mp4"),
        ({"colour": "blue"}, "unknown fields for get_video: colour"),
    ):
        bad = {**form, "name": "Broken", "options": json.dumps(options)}
        response = admin_client.post("/admin/downloads_app/preset/add/", bad)
        assert response.status_code == 200
        assert error in " ".join(response.context["adminform"].form.errors["options"])
        assert error.encode() in response.content
    not_json = admin_client.post("/admin/downloads_app/preset/add/", {**form, "options": "{"})
    assert not_json.status_code == 200
    assert "options" in not_json.context["adminform"].form.errors
    assert not Preset.objects.filter(name="Broken").exists()
    # Left empty: no options (every default of the endpoint).
    response = admin_client.post(
        "/admin/downloads_app/preset/add/", {**form, "name": "Plain", "options": ""}
    )
    assert response.status_code == 302
    assert Preset.objects.get(name="Plain").options == {}


def write(tmp_path, document) -> str:
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_load_presets_creates_then_updates_by_name_and_prunes_when_asked(tmp_path, capsys):
    preset("Old", "get_info")
    first = [
        {"name": "Small", "task_type": "get_video", "options": {"video_format": "worstvideo"}},
        {"name": "Talk", "task_type": "get_audio", "description": "Speech"},
    ]
    call_command("load_presets", write(tmp_path, first))
    assert "2 preset(s) created, 0 updated" in capsys.readouterr().out
    changed = [{**first[0], "options": {"output_format": "webm"}}]
    call_command("load_presets", write(tmp_path, {"presets": changed}), "--prune")
    assert "0 preset(s) created, 1 updated, 2 deleted" in capsys.readouterr().out
    assert list(Preset.objects.values_list("name", "options")) == [
        ("Small", {"output_format": "webm"}),
    ]  # fmt: skip


def test_a_bad_file_changes_nothing_and_names_each_preset_and_field(tmp_path):
    preset("Kept", output_format="mp4")
    entries = [
        {"name": "Kept", "task_type": "get_video", "options": {"output_format": "mkv"}},
        {"name": "Fine", "task_type": "get_audio"},
        {"name": "Loud", "task_type": "get_audio", "options": {"audio_format": "best[abr~=1]"}},
        {"name": "Wrong", "task_type": "get_everything"},
        {"task_type": "get_audio"},
    ]
    with pytest.raises(CommandError) as raised:
        call_command("load_presets", write(tmp_path, entries), "--prune")
    message = str(raised.value)
    assert "nothing changed" in message
    assert "preset 'Loud': options: audio_format: must not use regular-expression" in message
    assert "preset 'Wrong': task_type:" in message
    assert "preset #5: name and task_type must be strings" in message
    assert list(Preset.objects.values_list("name", "options")) == [
        ("Kept", {"output_format": "mp4"}),
    ]  # fmt: skip
    for document, error in ((None, "is not JSON"), ({"x": 1}, "must be a list of presets")):
        path = tmp_path / "other.json"
        path.write_text("{" if document is None else json.dumps(document), encoding="utf-8")
        with pytest.raises(CommandError, match=error):
            call_command("load_presets", str(path))


def test_the_example_presets_of_the_docs_load(tmp_path, settings, make_key, client_for):
    # README's quick start loads them on a server without a library: the Jellyfin one,
    # which puts its files there, loads, and a request naming it is refused then.
    settings.LIBRARY_DIR = None
    document = json.loads(DOCS_PRESETS.read_text(encoding="utf-8"))
    call_command("load_presets", write(tmp_path, document))
    assert set(Preset.objects.values_list("name", flat=True)) == {
        "Jellyfin 1080p", "Playlist 720p", "Podcast MP3 128k",
    }  # fmt: skip
    _, librarian = make_key("librarian", ["get_video", "library"])
    body = {"url": "https://media.example/v", "preset": "Jellyfin 1080p"}
    response = client_for(librarian).post("/get_video", body, format="json")
    assert response.status_code == 400 and "LIBRARY_DIR" in response.json()["error"]


def test_get_presets_lists_those_the_key_may_use_sorted_by_name(make_key, client_for):
    preset("b video", video_format="bestvideo[height<=720]")
    preset("a audio", "get_audio", output_format="mp3")
    preset("c playlist of audio", "get_playlist", type="audio")
    preset("d live", "get_live_audio", duration=60)
    # Saved as the library's branch will let it be: `library: true` needs `library`.
    Preset.objects.create(name="e library", task_type="get_video", options={"library": True})
    _, listener = make_key("listener", ["get_audio"])
    response = client_for(listener).get("/presets")
    assert response.status_code == 200
    assert response.json() == {
        "presets": [
            {"name": "a audio", "description": "", "task_type": "get_audio",
             "options": {"output_format": "mp3"}},
            {"name": "c playlist of audio", "description": "", "task_type": "get_playlist",
             "options": {"type": "audio"}},
        ]
    }  # fmt: skip
    _, watcher = make_key("watcher", ["get_video"])
    assert [p["name"] for p in client_for(watcher).get("/presets").json()["presets"]] == ["b video"]
    _, librarian = make_key("librarian", ["get_video", "library"])
    assert [p["name"] for p in client_for(librarian).get("/presets").json()["presets"]] == [
        "b video", "e library",
    ]  # fmt: skip
    assert client_for().get("/presets").status_code == 401


@pytest.fixture
def video_client(make_key, client_for):
    _, secret = make_key("viewer", ["get_video", "get_audio", "get_live_video"])
    return client_for(secret)


def test_a_requests_own_fields_win_over_its_presets(video_client):
    preset("HD", video_format="bestvideo[height<=1080]", output_format="mp4")
    body = {"url": URL, "preset": "HD", "output_format": "mkv"}
    response = video_client.post("/get_video", body, format="json")
    assert response.status_code == 200, response.json()
    task = Task.objects.get(pk=response.json()["task_id"])
    assert (task.video_format, task.audio_format, task.output_format, task.preset) == (
        "bestvideo[height<=1080]", "bestaudio", "mkv", "HD",
    )  # fmt: skip
    status = video_client.get(f"/status/{task.id}").json()
    assert (status["preset"], status["output_format"]) == ("HD", "mkv")
    # `output_format: null` is given too: the source's own format.
    body = {"url": URL, "preset": "HD", "output_format": None}
    plain = video_client.post("/get_video", body, format="json").json()
    assert Task.objects.get(pk=plain["task_id"]).output_format == ""
    without = video_client.post("/get_video", {"url": URL}, format="json").json()
    assert "preset" not in video_client.get(f"/status/{without['task_id']}").json()


def test_a_preset_gives_what_a_request_of_its_type_must_give(video_client):
    preset("Hour", "get_live_video", duration=3600, output_format="mkv")
    response = video_client.post("/get_live_video", {"url": URL, "preset": "Hour"}, format="json")
    assert response.status_code == 200, response.json()
    task = Task.objects.get(pk=response.json()["task_id"])
    assert (task.live_duration, task.output_format) == (3600, "mkv")


def test_a_playlist_needs_the_permission_of_its_presets_entry_type(make_key, client_for):
    preset("Album", "get_playlist", type="audio", output_format="mp3")
    _, listener = make_key("listener", ["get_audio"])
    response = client_for(listener).post(
        "/get_playlist", {"url": URL, "preset": "Album"}, format="json"
    )
    assert response.status_code == 200, response.json()
    task = Task.objects.get(pk=response.json()["task_id"])
    assert (task.playlist_type, task.output_format, task.preset) == ("get_audio", "mp3", "Album")
    # The request's own `type` wins, and so does its permission.
    body = {"url": URL, "preset": "Album", "type": "video", "output_format": "mp4"}
    refused = client_for(listener).post("/get_playlist", body, format="json")
    assert refused.json() == {"error": "Insufficient permissions: needs get_video"}
    # A field the preset gave, refused once the request changed the rest, names the preset.
    preset("Clips", "get_playlist", type="video", video_format="bestvideo[height<=480]")
    _, both = make_key("both", ["get_video", "get_audio"])
    body = {"url": URL, "preset": "Clips", "type": "audio"}
    refused = client_for(both).post("/get_playlist", body, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "video_format (from the preset 'Clips'): is for type video only"
    }


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"preset": "Nothing"}, 400, "preset: no preset named 'Nothing' (GET /presets"),
        ({"preset": "Talk"}, 400, "preset: 'Talk' is a preset of get_audio, not of get_video"),
        ({"preset": 7}, 400, "preset: must be the name of a preset"),
        ({"preset": "Shelf"}, 403, "the preset 'Shelf' needs library"),
    ],
)
def test_an_unknown_foreign_or_forbidden_preset_is_refused_naming_it(
    video_client, body, status, error
):
    preset("Talk", "get_audio")
    Preset.objects.create(name="Shelf", task_type="get_video", options={"library": True})
    response = video_client.post("/get_video", {"url": URL, **body}, format="json")
    assert response.status_code == status
    assert error in response.json()["error"]
    assert not Task.objects.exists()
