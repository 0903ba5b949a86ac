"""The media options of a request (downloads_app/media_options.py): their checks, and
their translation into yt-dlp's options and post-processors; no stack, no download.
What they make of real media is tested end to end in tests/e2e/test_files_ux.py."""

import io
import subprocess

import pytest
import yt_dlp

from downloads_app import checks, clip_times, media_options, serializers, ytdlp, ytdlp_options
from downloads_app.media_options import MAX_SUBTITLE_LANGUAGES, MediaOptions
from downloads_app.models import Task, TaskType
from downloads_app.ytdlp_options import build_ytdlp_options
from tests.support.media_files import FFMPEG

URL = "http://93.184.215.14/watch"  # a public literal address: nothing to resolve


def validated(serializer, **fields):
    checked = serializer(data={"url": URL, **fields}, context={"resolve_hosts": False})
    assert checked.is_valid(), checked.errors
    return checked.validated_data


def errors_of(serializer=serializers.GetVideoInput, **fields):
    checked = serializer(data={"url": URL, **fields}, context={"resolve_hosts": False})
    assert not checked.is_valid()
    return {
        name: [str(message) for message in messages] for name, messages in checked.errors.items()
    }


@pytest.mark.parametrize(
    "serializer",
    [serializers.GetVideoInput, serializers.GetAudioInput, serializers.GetPlaylistInput],
)
def test_the_options_given_and_only_those_are_stored_in_media_options(serializer):
    extra = {"type": "audio"} if serializer is serializers.GetPlaylistInput else {}
    data = validated(
        serializer, subtitles=["en", "pt-BR", "zh-Hans"], auto_subtitles=True,
        embed_thumbnail=False, **extra,
    )  # fmt: skip
    assert data["media_options"] == {
        "subtitles": ["en", "pt-BR", "zh-Hans"], "auto_subtitles": True, "embed_thumbnail": False,
    }  # fmt: skip
    assert "subtitles" not in data  # no Task field of that name
    assert validated(serializer, **extra)["media_options"] == {}


def test_all_languages_is_a_list_of_one():
    assert validated(serializers.GetVideoInput, subtitles=["all"])["media_options"] == {
        "subtitles": ["all"]
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"subtitles": "en"}, "subtitles", "must be a list of language codes"),
        ({"subtitles": {"en": True}}, "subtitles", "must be a list of language codes"),
        ({"subtitles": ["en", 3]}, "subtitles", "must be a list of strings"),
        ({"subtitles": ["english please"]}, "subtitles", "is not a language code"),
        ({"subtitles": ["en.*"]}, "subtitles", "is not a language code"),  # a regex to yt-dlp
        ({"subtitles": ["-live_chat"]}, "subtitles", "is not a language code"),
        ({"subtitles": ["all", "en"]}, "subtitles", '"all" stands alone'),
        ({"subtitles": ["en", "en"]}, "subtitles", "names a language twice"),
        (
            {"subtitles": [f"a{chr(97 + n)}" for n in range(MAX_SUBTITLE_LANGUAGES + 1)]},
            "subtitles",
            f"at most {MAX_SUBTITLE_LANGUAGES} languages",
        ),
        ({"embed_thumbnail": "yes"}, "embed_thumbnail", "must be true or false"),
        ({"embed_metadata": 1}, "embed_metadata", "must be true or false"),
        ({"embed_chapters": None}, "embed_chapters", "null"),
        ({"auto_subtitles": True}, "auto_subtitles", "applies to subtitles"),
        ({"auto_subtitles": True, "subtitles": ["all"]}, "auto_subtitles", 'not ["all"]'),
        ({"embed_subtitles": False, "subtitles": []}, "embed_subtitles", "applies to subtitles"),
    ],
)
def test_a_bad_option_is_refused_naming_it(fields, field, message):
    errors = errors_of(**fields)
    assert list(errors) == [field] and message in errors[field][0], errors


@pytest.mark.django_db
def test_the_endpoint_answers_a_bad_option_with_a_400_naming_it(user_client):
    response = user_client.post("/get_audio", {"url": URL, "subtitles": ["en;rm"]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("subtitles: 'en;rm' is not a language code")
    assert not Task.objects.exists()


def keys_of(steps):
    return [step["key"] for step in steps]


def test_by_default_a_file_gets_its_tags_chapters_and_cover_and_no_subtitles():
    defaults = MediaOptions.of({})
    assert defaults.download_options() == {}
    assert keys_of(defaults.postprocessors("mp4")) == ["FFmpegMetadata", "EmbedThumbnail"]
    assert defaults.postprocessors("mp4")[0] == {
        "key": "FFmpegMetadata", "add_metadata": True, "add_chapters": True,
        "add_infojson": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("ext", "expected"),
    [
        ("mp4", ["FFmpegEmbedSubtitle", "FFmpegMetadata", "EmbedThumbnail"]),
        ("mkv", ["FFmpegEmbedSubtitle", "FFmpegMetadata", "EmbedThumbnail"]),
        # WebM holds WebVTT subtitles only, and no cover.
        ("webm", ["FFmpegSubtitlesConvertor", "FFmpegEmbedSubtitle", "FFmpegMetadata"]),
        # Audio holds no subtitles: they are published beside it.
        ("mp3", ["FFmpegMetadata", "EmbedThumbnail"]),
        ("flac", ["FFmpegMetadata", "EmbedThumbnail"]),
        ("mov", ["FFmpegEmbedSubtitle", "FFmpegMetadata"]),
        ("avi", ["FFmpegMetadata"]),
        ("aac", []),
        ("wav", []),
    ],
)
def test_each_container_gets_the_steps_it_can_hold(ext, expected):
    options = MediaOptions.of({"subtitles": ["en"]})
    assert keys_of(options.postprocessors(ext)) == expected
    assert options.embeds_subtitles(ext) == ("FFmpegEmbedSubtitle" in expected)


def test_steps_that_change_the_media_run_after_the_subtitles_and_before_the_tags():
    cut = {"key": "ModifyChapters", "remove_sponsor_segments": ["sponsor"]}
    steps = MediaOptions.of({"subtitles": ["en"]}).postprocessors("mkv", before_tags=(cut,))
    assert keys_of(steps) == [
        "FFmpegEmbedSubtitle", "ModifyChapters", "FFmpegMetadata", "EmbedThumbnail",
    ]  # fmt: skip


def test_what_is_not_wanted_is_not_embedded():
    options = MediaOptions.of(
        {"subtitles": ["en"], "embed_subtitles": False, "embed_thumbnail": False,
         "embed_metadata": False, "embed_chapters": False}
    )  # fmt: skip
    assert options.postprocessors("mp4") == []
    assert not options.embeds_subtitles("mp4")
    chapters_only = MediaOptions.of({"embed_metadata": False}).postprocessors("mp3")[0]
    assert (chapters_only["add_metadata"], chapters_only["add_chapters"]) == (False, True)


def test_every_step_is_a_post_processor_of_this_yt_dlp_or_a_check_fails(monkeypatch):
    options = MediaOptions.of({"subtitles": ["en"]})
    named = {step["key"] for ext in ("mp4", "webm", "mp3") for step in options.postprocessors(ext)}
    assert named == set(media_options.POSTPROCESSORS)
    assert checks.media_postprocessors_exist(None) == []
    monkeypatch.setattr(ytdlp_options, "POSTPROCESSORS", ("FFmpegMetadata", "EmbedCoverArt"))
    [error] = checks.media_postprocessors_exist(None)
    assert (error.id, error.msg) == (
        "downloads_app.E012",
        "yt-dlp has no EmbedCoverArt post-processor, which the media options run",
    )


def test_subtitles_are_fetched_with_the_download_by_yt_dlp_s_own_options(tmp_path):
    task = Task(
        task_type=TaskType.GET_VIDEO, url=URL, video_format="bestvideo", audio_format="bestaudio",
        media_options={"subtitles": ["en", "de"], "auto_subtitles": True},
    )  # fmt: skip
    options = build_ytdlp_options(task, tmp_path, lambda status: None, limits=_NoLimits())
    assert options["writesubtitles"] is True
    assert options["writeautomaticsub"] is True
    assert options["subtitleslangs"] == ["en", "de"]
    assert options["subtitlesformat"] == "vtt/srt/best"
    task.media_options = {}
    plain = build_ytdlp_options(task, tmp_path, lambda status: None, limits=_NoLimits())
    assert "writesubtitles" not in plain


class _NoLimits:
    def progress_hook(self, status):
        pass


def test_stored_options_of_another_version_are_read_as_far_as_known():
    stored = {"subtitles": ["en"], "sponsorblock": ["sponsor"]}
    assert MediaOptions.of(stored) == MediaOptions(subtitles=("en",))


def answering(body: bytes):
    """A YoutubeDL whose every request answers `body` (no connection is made)."""
    ydl = yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True})
    ydl.urlopen = lambda request: io.BytesIO(body)
    return ydl


def png() -> bytes:
    return subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "color=red:size=32x18", "-frames:v", "1",
         "-f", "image2", "-c:v", "png", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip


def test_a_thumbnail_is_saved_as_a_jpeg_made_by_ffmpeg(tmp_path):
    info = {"thumbnails": [{"url": "http://93.184.215.14/t.png", "id": "0"}]}
    saved = ytdlp.save_thumbnail(answering(png()), info, tmp_path, "task")
    assert saved == tmp_path / "thumbnail.jpg"
    assert saved.read_bytes()[:3] == b"\xff\xd8\xff"
    assert [path.name for path in tmp_path.iterdir()] == ["thumbnail.jpg"]


@pytest.mark.parametrize(
    "body", [b"<html>not an image</html>", b"\xff\xd8\xff" + bytes(2048)], ids=["html", "large"]
)
def test_a_thumbnail_that_is_no_image_or_too_large_is_skipped(tmp_path, settings, body, caplog):
    settings.THUMBNAIL_MAX_BYTES = 1024
    info = {"thumbnails": [{"url": "http://93.184.215.14/t.jpg", "id": "0"}]}
    assert ytdlp.save_thumbnail(answering(body), info, tmp_path, "task") is None
    assert "no thumbnail from http://93.184.215.14/t.jpg" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_thumbnail_server_out_of_time_is_not_waited_for(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(ytdlp, "THUMBNAIL_SECONDS", -1)  # its time is up before it starts
    info = {"thumbnails": [{"url": "http://93.184.215.14/t.png", "id": "0"}]}
    assert ytdlp.save_thumbnail(answering(png()), info, tmp_path, "task") is None
    assert "no time left" in caplog.text


@pytest.mark.parametrize("ext", ["vtt", "srt"])
def test_a_clip_s_subtitles_are_cut_with_it(tmp_path, ext):
    subtitles = tmp_path / f"download.en.{ext}"
    cues = [
        ("00:00:01.000", "00:00:02.000", "Before"),
        ("00:00:04.000", "00:00:06.000", "Over"),
        ("00:00:06.500", "00:00:07.000", "Inside"),
        ("00:00:09.000", "00:00:10.000", "After"),
    ]
    if ext == "vtt":
        blocks = ["WEBVTT"] + [f"{a} --> {b} align:start\n{text}" for a, b, text in cues]
    else:
        blocks = [
            f"{n}\n{a.replace('.', ',')} --> {b.replace('.', ',')}\n{text}"
            for n, (a, b, text) in enumerate(cues, 1)
        ]
    subtitles.write_text("\n\n".join(blocks) + "\n")
    clip_times.cut_subtitles(subtitles, 5.0, 8.0)
    cut = subtitles.read_text()
    assert "Before" not in cut and "After" not in cut
    comma = "," if ext == "srt" else "."
    # A cue showing at the clip's start is kept from its start.
    assert f"00:00:00{comma}000 --> 00:00:01{comma}000" in cut and "Over" in cut
    assert f"00:00:01{comma}500 --> 00:00:02{comma}000" in cut and "Inside" in cut
    if ext == "vtt":
        assert cut.startswith("WEBVTT") and "align:start" in cut  # header and settings kept


def test_a_clip_s_chapters_are_cut_with_it():
    chapters = [
        {"start_time": 0.0, "end_time": 4.0, "title": "Intro"},
        {"start_time": 4.0, "end_time": 7.0, "title": "Middle"},
        {"start_time": 7.0, "end_time": 20.0, "title": "Rest"},
        {"start_time": 20.0, "end_time": 30.0, "title": "Credits"},
    ]
    assert clip_times.clip_chapters(chapters, 5.0, 10.0) == [
        {"start_time": 0.0, "end_time": 2.0, "title": "Middle"},
        {"start_time": 2.0, "end_time": 5.0, "title": "Rest"},
    ]
    assert clip_times.clip_chapters(chapters, None, 4.0) == chapters[:1]
