"""Real downloads through the API: real yt-dlp and ffmpeg against media served from
127.0.0.1, each result checked with ffprobe."""

import json
import re

import pytest

from tests.support.media_files import codecs, duration, ffprobe

pytestmark = pytest.mark.django_db


def test_get_video_of_a_progressive_file_keeps_both_streams(run_task, result_path, progressive_url):
    task, status = run_task("/get_video", {"url": progressive_url, "output_format": "mp4"})
    assert status["status"] == "completed"
    assert status["file"] == f"/files/{task.id}/video.mp4"
    path = result_path(task)
    assert codecs(path)["video"] == ["h264"] and codecs(path)["audio"] == ["aac"]
    assert "mp4" in ffprobe(path)["format"]["format_name"]
    assert duration(path) == pytest.approx(10, abs=0.5)


def test_get_video_of_dash_merges_the_chosen_height_with_audio(run_task, result_path, dash_url):
    task, _ = run_task(
        "/get_video",
        {"url": dash_url, "video_format": "bestvideo[height<=240]", "audio_format": "bestaudio"},
    )
    streams = ffprobe(result_path(task))["streams"]
    video = [s for s in streams if s["codec_type"] == "video"]
    assert [s["height"] for s in video] == [240]
    assert any(s["codec_type"] == "audio" for s in streams)


def test_a_selector_with_its_own_alternatives_still_gets_audio(run_task, result_path, dash_url):
    task, _ = run_task(
        "/get_video",
        {"url": dash_url, "video_format": "bestvideo[height>5000]/bestvideo[height<=144]"},
    )
    found = codecs(result_path(task))
    assert found["video"] and found["audio"]


@pytest.mark.parametrize(
    ("output_format", "format_name", "video_codecs", "audio_codecs"),
    [
        ("mkv", "matroska", {"h264"}, {"aac"}),
        ("webm", "webm", {"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
        ("avi", "avi", {"h264", "mpeg4"}, {"mp3"}),
        ("mov", "mov", {"h264"}, {"aac"}),
        ("flv", "flv", {"h264"}, {"aac", "mp3"}),
        ("3gp", "3gp", {"h264"}, {"aac"}),
    ],
)
def test_get_video_converts_to_the_requested_container(
    run_task, result_path, hls_vod_url, output_format, format_name, video_codecs, audio_codecs
):
    task, status = run_task("/get_video", {"url": hls_vod_url, "output_format": output_format})
    path = result_path(task)
    assert path.name == f"video.{output_format}"
    assert format_name in ffprobe(path)["format"]["format_name"]
    found = codecs(path)
    assert set(found["video"]) <= video_codecs and found["video"]
    assert set(found["audio"]) <= audio_codecs and found["audio"]


@pytest.mark.parametrize(
    ("output_format", "codec"),
    [("mp3", "mp3"), ("m4a", "aac"), ("opus", "opus"), ("flac", "flac"), ("wav", "pcm_s16le"),
     ("aac", "aac"), ("ogg", "vorbis")],
)  # fmt: skip
def test_get_audio_yields_the_requested_codec_without_video(
    run_task, result_path, dash_url, output_format, codec
):
    task, _ = run_task("/get_audio", {"url": dash_url, "output_format": output_format})
    path = result_path(task)
    assert path.name == f"audio.{output_format}"
    assert codecs(path) == {"video": [], "audio": [codec]}
    assert duration(path) == pytest.approx(10, abs=0.5)


def test_get_audio_without_output_format_keeps_the_source_codec(
    run_task, result_path, progressive_url
):
    task, _ = run_task("/get_audio", {"url": progressive_url})
    path = result_path(task)
    assert path.name == "audio.m4a"
    assert codecs(path) == {"video": [], "audio": ["aac"]}


@pytest.mark.parametrize("force_keyframes", [True, False])
def test_a_clip_has_the_requested_length(run_task, result_path, progressive_url, force_keyframes):
    task, status = run_task(
        "/get_video",
        {"url": progressive_url, "start_time": "00:00:02", "end_time": 6,
         "force_keyframes": force_keyframes, "output_format": "mp4"},
    )  # fmt: skip
    assert status["start_time"] == 2 and status["end_time"] == 6
    length = duration(result_path(task))
    # Exact cuts are within a frame or two; keyframe cuts within one GOP (2 s here).
    assert length == pytest.approx(4, abs=0.3 if force_keyframes else 2.1)


def test_an_audio_clip_has_the_requested_length(run_task, result_path, dash_url):
    task, _ = run_task(
        "/get_audio",
        {"url": dash_url, "start_time": 1, "end_time": "00:04", "output_format": "mp3",
         "force_keyframes": True},
    )  # fmt: skip
    assert duration(result_path(task)) == pytest.approx(3, abs=0.5)


def test_get_info_writes_sanitized_metadata(run_task, result_path, dash_url):
    task, status = run_task("/get_info", {"url": dash_url})
    assert status["file"] == f"/files/{task.id}/info.json"
    assert status["task_type"] == "get_info"
    document = json.loads(result_path(task).read_text())
    heights = {f.get("height") for f in document["formats"] if f.get("height")}
    assert len(heights) >= 3


def test_an_unreachable_url_ends_as_error_with_yt_dlp_message(run_task, media_server):
    task, status = run_task("/get_video", {"url": media_server.url("missing.mp4")})
    assert status["status"] == "error"
    assert "404" in status["error"]
    assert "file" not in status


def test_a_live_url_sent_to_get_video_fails_clearly(run_task, live_url):
    _, status = run_task("/get_video", {"url": live_url})
    assert status["status"] == "error"
    assert "live stream" in status["error"] and "/get_live_video" in status["error"]


def test_a_recorded_url_sent_to_get_live_video_fails_clearly(run_task, hls_vod_url):
    _, status = run_task("/get_live_video", {"url": hls_vod_url, "duration": 5})
    assert status["status"] == "error"
    assert "not a live stream" in status["error"]


def test_no_partial_files_are_left_behind(run_task, result_path, hls_vod_url):
    task, _ = run_task("/get_video", {"url": hls_vod_url, "output_format": "webm"})
    assert [p.name for p in result_path(task).parent.iterdir()] == ["video.webm"]


def test_live_video_records_the_requested_duration(run_task, result_path, live_url):
    task, status = run_task(
        "/get_live_video", {"url": live_url, "duration": 6, "output_format": "mp4"}
    )
    path = result_path(task)
    assert path.name == "live_video.mp4"
    found = codecs(path)
    assert found["video"] == ["h264"] and found["audio"] == ["aac"]
    assert duration(path) == pytest.approx(6, abs=1.1)  # within one 1-second segment


def test_live_audio_records_the_requested_duration(run_task, result_path, live_url):
    task, _ = run_task("/get_live_audio", {"url": live_url, "duration": 4, "output_format": "mp3"})
    path = result_path(task)
    assert codecs(path) == {"video": [], "audio": ["mp3"]}
    assert duration(path) == pytest.approx(4, abs=1.1)


def test_live_start_rewinds_into_the_stream_and_reads_the_past(
    run_task, result_path, live_dvr_url, media_server
):
    edge_at_start = media_server.live_edge()
    seen_before = len(media_server.records())
    task, _ = run_task("/get_live_video", {"url": live_dvr_url, "start": 20, "duration": 8})
    assert duration(result_path(task)) == pytest.approx(8, abs=1.1)
    # Twenty seconds of history cover the whole window: every segment recorded had been
    # published before the task began, so none was waited for.
    segments = [
        int(record.path.removeprefix("/live_dvr/seq_").removesuffix(".ts"))
        for record in media_server.records()[seen_before:]
        if record.path.startswith("/live_dvr/seq_")
    ]
    assert segments
    assert max(segments) <= edge_at_start


@pytest.mark.parametrize("media", ["progressive.mp4", "dash/manifest.mpd", "hls_vod/index.m3u8"])
def test_a_clip_that_starts_after_the_end_fails_naming_the_media_s_length(
    run_task, media_server, media
):
    # It "completed" with an empty file: yt-dlp and ffmpeg make one without an error.
    clip = {"start_time": "01:00:00", "end_time": "01:00:05"}
    _, status = run_task("/get_video", {"url": media_server.url(media), **clip})
    assert status["status"] == "error"
    # The media are 10 s long; a manifest's or container's own figure may be a little more.
    assert re.fullmatch(
        r"The clip starts at 01:00:00, after the end of the media, which is (00:00:10[.\d]*) "
        r"long: choose a start_time before \1",
        status["error"],
    ), status["error"]
