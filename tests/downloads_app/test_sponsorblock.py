"""The `sponsorblock` option: its validation, and sponsorblock.apply on a real clip with a
YouTube-shaped info, against a loopback stand-in of the SponsorBlock API
(tests/support/sponsorblock_api.py), each result checked with ffprobe."""

import hashlib
import json
import optparse
import shutil
import subprocess

import pytest
from django.core import checks
from rest_framework.exceptions import ValidationError

from downloads_app import lifecycle, media, sponsorblock
from downloads_app.models import Task, TaskStatus, TaskType
from tests.support.media_files import FFPROBE, duration
from tests.support.sponsorblock_api import SponsorBlockAPI, segment

# An id of the shape YouTube's have; the stand-in knows its segments. The clip
# (progressive.mp4) lasts 10 s with a keyframe every 2 s, so cuts at even seconds are exact.
VIDEO_ID = "dQw4w9WgXcQ"
SEGMENTS = [
    segment(0.0, 2.0, "intro", 10.0),
    segment(4.0, 6.0, "sponsor", 10.0),
    segment(8.0, 10.0, "outro", 10.0),
]
URL = "https://www.youtube.com/watch?v=" + VIDEO_ID


@pytest.fixture
def api(settings):
    with SponsorBlockAPI({VIDEO_ID: SEGMENTS}) as running:
        settings.SPONSORBLOCK_API = running.url
        yield running


@pytest.fixture
def clip(media_root, tmp_path):
    """A copy of the 10 s test clip, as a download in the task's work directory."""
    path = tmp_path / "download.mp4"
    shutil.copyfile(media_root / "progressive.mp4", path)
    return path


def youtube_info(**extra):
    return {"id": VIDEO_ID, "extractor_key": "Youtube", "duration": 10.0, "title": "A clip",
            "webpage_url": URL, **extra}  # fmt: skip


def task_asking(option, **fields):
    return Task(
        task_type=TaskType.GET_VIDEO, url=URL, media_options=sponsorblock.media_options(option),
        **fields,
    )  # fmt: skip


def chapters(path):
    completed = subprocess.run(
        [FFPROBE, "-v", "error", "-print_format", "json", "-show_chapters", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [
        (round(float(c["start_time"])), round(float(c["end_time"])), c["tags"].get("title", ""))
        for c in json.loads(completed.stdout)["chapters"]
    ]


def test_marked_segments_become_chapters_of_the_file(api, clip, tmp_path):
    info = youtube_info()
    result = sponsorblock.apply(
        task_asking({"mark": ["intro", "outro"], "remove": []}), info, clip, tmp_path
    )
    assert chapters(result) == [
        (0, 2, "[SponsorBlock]: Intermission/Intro Animation"),
        (2, 8, "A clip"),
        (8, 10, "[SponsorBlock]: Endcards/Credits"),
    ]
    assert duration(result) == pytest.approx(10, abs=0.2)
    assert [c["title"] for c in info["chapters"]][0].startswith("[SponsorBlock]")  # for later
    # Run before the conversion (task_work._produce), whose remux keeps the chapters.
    assert chapters(media.finalize_video(result, "mkv", tmp_path)) == chapters(result)
    path, query = api.requests[0]
    assert path == "/api/skipSegments/" + hashlib.sha256(VIDEO_ID.encode()).hexdigest()[:4]
    assert query["service"] == "YouTube"
    assert set(json.loads(query["categories"])) == {"intro", "outro"}


def test_removed_segments_are_cut_out_and_the_rest_marked(api, clip, tmp_path):
    info = youtube_info()
    option = {"mark": ["intro"], "remove": ["sponsor"]}
    result = sponsorblock.apply(task_asking(option), info, clip, tmp_path)
    assert duration(result) == pytest.approx(8, abs=0.2)
    assert info["duration"] == pytest.approx(8)
    assert chapters(result) == [
        (0, 2, "[SponsorBlock]: Intermission/Intro Animation"),
        (2, 8, "A clip"),
    ]
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".mp4"] == [result.name]
    mp3 = media.finalize_audio(result, "mp3", tmp_path)  # a re-encode keeps them too
    assert chapters(mp3) == chapters(result) and duration(mp3) == pytest.approx(8, abs=0.2)


def test_a_clip_has_the_segments_moved_to_its_own_time_line(api, clip, tmp_path):
    # The file is the clip from 2 s (the media's 2-10 s, made here by cutting the copy).
    cut = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "2", "-i", str(clip), "-c", "copy", str(cut)],
        check=True,
    )  # fmt: skip
    task = task_asking({"mark": ["outro"], "remove": ["sponsor"]}, start_time=2.0)
    # The video's own chapters, on the clip's time line as task_work._cut_to_clip leaves
    # them (the media's 0-5 s and 5-10 s).
    own = [{"start_time": 0.0, "end_time": 3.0, "title": "Part 1"},
           {"start_time": 3.0, "end_time": 8.0, "title": "Part 2"}]  # fmt: skip
    result = sponsorblock.apply(task, youtube_info(chapters=own), cut, tmp_path)
    assert duration(result) == pytest.approx(6, abs=0.2)  # 8 s less the sponsor's 2
    # Part 1 (2-5 s of the media) loses 4-5 s to the sponsor, Part 2 loses 5-6 s.
    assert chapters(result) == [
        (0, 2, "Part 1"), (2, 4, "Part 2"), (4, 6, "[SponsorBlock]: Endcards/Credits"),
    ]  # fmt: skip


def test_media_of_another_site_is_left_alone_without_asking(api, clip, tmp_path):
    info = {"id": "progressive", "extractor_key": "Generic", "duration": 10.0, "title": "x"}
    before = clip.read_bytes()
    result = sponsorblock.apply(task_asking({"mark": ["all"], "remove": []}), info, clip, tmp_path)
    assert result == clip and result.read_bytes() == before
    assert api.requests == []


def test_a_task_without_the_option_is_left_alone(api, clip, tmp_path):
    assert sponsorblock.apply(task_asking(None), youtube_info(), clip, tmp_path) == clip
    assert api.requests == []


def test_the_api_is_asked_through_the_connection_guard(api, clip, tmp_path, settings, caplog):
    settings.ALLOW_PRIVATE_URLS = False  # the stand-in's 127.0.0.1 is then refused
    option = {"mark": [], "remove": ["sponsor"]}
    result = sponsorblock.apply(task_asking(option), youtube_info(), clip, tmp_path)
    assert result == clip and duration(clip) == pytest.approx(10, abs=0.2)
    assert api.requests == []
    assert "SponsorBlock" in caplog.text and "could not be asked" in caplog.text


def test_an_api_that_is_down_leaves_the_file_as_it_is(clip, tmp_path, settings, caplog):
    with SponsorBlockAPI({}) as gone:
        settings.SPONSORBLOCK_API = gone.url
    option = {"mark": [], "remove": ["sponsor"]}
    result = sponsorblock.apply(task_asking(option), youtube_info(), clip, tmp_path)
    assert result == clip and duration(clip) == pytest.approx(10, abs=0.2)
    assert "could not be asked" in caplog.text


def test_a_slow_api_leaves_the_file_as_it_is(api, clip, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(sponsorblock, "API_TIMEOUT", 0.2)
    api.delay = 1.0
    option = {"mark": ["intro"], "remove": ["sponsor"]}
    result = sponsorblock.apply(task_asking(option), youtube_info(), clip, tmp_path)
    assert result == clip and chapters(clip) == []
    assert len(api.requests) == 1 + sponsorblock.API_RETRIES
    assert "could not be asked" in caplog.text


def test_a_video_the_api_does_not_know_is_left_alone(api, clip, tmp_path):
    info = youtube_info(id="aaaaaaaaaaa")
    option = {"mark": ["all"], "remove": []}
    assert sponsorblock.apply(task_asking(option), info, clip, tmp_path) == clip
    assert len(api.requests) == 1


# --- The option's validation ------------------------------------------------------------


def validate(value):
    return sponsorblock.SponsorBlockField().run_validation(value)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"mark": ["intro", "outro"], "remove": ["sponsor"]},
         {"mark": ["intro", "outro"], "remove": ["sponsor"]}),
        ({"remove": ["default"]},
         {"mark": [], "remove": ["hook", "interaction", "intro", "music_offtopic", "outro",
                                 "preview", "selfpromo", "sponsor"]}),
        ({"mark": ["all", "-filler", "-chapter"], "remove": ["sponsor", "Intro"]},
         {"mark": ["hook", "interaction", "music_offtopic", "outro", "poi_highlight",
                   "preview", "selfpromo"], "remove": ["intro", "sponsor"]}),
        ({"mark": ["sponsor"], "remove": ["sponsor"]}, {"mark": [], "remove": ["sponsor"]}),
        ({"mark": ["chapter", "poi_highlight"]},
         {"mark": ["chapter", "poi_highlight"], "remove": []}),
    ],
)  # fmt: skip
def test_categories_are_read_as_yt_dlp_reads_them(given, stored):
    assert validate(given) == stored


@pytest.mark.parametrize("nothing", [None, {}, {"mark": [], "remove": []}, {"mark": ["-all"]}])
def test_no_category_is_no_sponsorblock(nothing):
    assert validate(nothing) is None
    assert sponsorblock.media_options(validate(nothing)) == {}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["sponsor"], "must be an object"),
        ("sponsor", "must be an object"),
        ({"mark": "sponsor"}, "mark must be a list of category names"),
        ({"remove": [1]}, "remove must be a list of category names"),
        ({"skip": ["sponsor"]}, "unknown fields: skip"),
        ({"mark": ["sponsors"]}, 'mark: "sponsors" is not a category that can be marked'),
        ({"remove": ["chapter"]}, 'remove: "chapter" is not a category that can be removed'),
        ({"remove": ["poi_highlight"]}, '"poi_highlight" is not a category'),
        ({"mark": ["sponsor"] * 21}, "at most 20"),
    ],
)
def test_a_wrong_option_is_refused_saying_why(given, message):
    with pytest.raises(ValidationError) as refused:
        validate(given)
    assert message in str(refused.value.detail[0])


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["/get_video", "/get_audio", "/get_playlist"])
def test_the_endpoints_keep_the_option_in_media_options(make_key, client_for, queued, endpoint):
    _, secret = make_key("sponsorblock", ["get_video", "get_audio"])
    body = {"url": URL, "sponsorblock": {"mark": ["intro"], "remove": ["sponsor"]}}
    if endpoint == "/get_playlist":
        body["type"] = "audio"
    response = client_for(secret).post(endpoint, body, format="json")
    assert response.status_code == 200, response.json()
    task = Task.objects.get(pk=response.json()["task_id"])
    assert task.media_options == {"sponsorblock": {"mark": ["intro"], "remove": ["sponsor"]}}
    status = client_for(secret).get(f"/status/{task.id}").json()
    assert status["sponsorblock"] == {"mark": ["intro"], "remove": ["sponsor"]}
    body.pop("sponsorblock")
    other = client_for(secret).post(endpoint, body, format="json").json()["task_id"]
    assert client_for(secret).get(f"/status/{other}").json()["sponsorblock"] is None


@pytest.mark.django_db
def test_a_wrong_option_is_a_400_naming_it(make_key, client_for):
    _, secret = make_key("sponsorblock", ["get_video"])
    body = {"url": URL, "sponsorblock": {"remove": ["intros"]}}
    response = client_for(secret).post("/get_video", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith('sponsorblock: remove: "intros" is not a category')
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_a_playlist_gives_the_option_to_its_entries(make_key, monkeypatch):
    monkeypatch.setattr(lifecycle, "enqueue", lambda task_id: None)
    api_key, _ = make_key("lister", ["get_video"])
    option = {"mark": ["intro"], "remove": ["sponsor"]}
    parent = Task.objects.create(
        api_key=api_key, task_type=TaskType.GET_PLAYLIST, playlist_type=TaskType.GET_VIDEO,
        url=URL, status=TaskStatus.PROCESSING, attempts=1,
        media_options=sponsorblock.media_options(option),
    )  # fmt: skip
    entries = [{"position": n, "url": f"{URL}&index={n}", "title": ""} for n in (1, 2)]
    lifecycle.playlist_expand(Task.objects.get(pk=parent.pk), "list", entries)
    children = Task.objects.filter(parent=parent)
    assert [child.media_options for child in children] == [{"sponsorblock": option}] * 2


def test_a_yt_dlp_without_the_options_fails_the_check_and_refuses_the_option(monkeypatch):
    assert not [m for m in checks.run_checks() if m.id == "downloads_app.E008"]
    sponsorblock._option_rules.cache_clear()
    # A parser without the options: get_option answers None.
    monkeypatch.setattr(sponsorblock, "create_parser", optparse.OptionParser)
    try:
        reported = [m.msg for m in checks.run_checks() if m.id == "downloads_app.E008"]
        assert reported == [
            "yt-dlp's --sponsorblock-mark is not as expected",
            "yt-dlp's --sponsorblock-remove is not as expected",
        ]
        with pytest.raises(ValidationError, match="cannot read SponsorBlock categories"):
            validate({"mark": ["intro"]})
    finally:
        sponsorblock._option_rules.cache_clear()
