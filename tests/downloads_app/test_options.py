"""How a task's fields become yt-dlp options (pure functions, no download)."""

import math

from downloads_app import errors, ytdlp, ytdlp_options
from downloads_app.models import Task


def make_task(**fields):
    defaults = {"task_type": "get_video", "video_format": "bestvideo", "audio_format": "bestaudio"}
    return Task(**{**defaults, **fields})


def test_video_merges_grouped_selectors_and_falls_back_to_combined_formats():
    task = make_task(video_format="bv[height<=720]/bv", audio_format="ba[abr<=129]/ba")
    assert ytdlp_options.format_selector(task) == "(bv[height<=720]/bv)+(ba[abr<=129]/ba)/best"


def test_audio_uses_the_audio_selector_then_any_audio():
    task = make_task(task_type="get_audio", audio_format="ba[ext=m4a]")
    assert ytdlp_options.format_selector(task) == "(ba[ext=m4a])/bestaudio/best"


def test_no_clip_means_no_download_ranges():
    assert ytdlp_options.clip_options(make_task()) == {}


def test_a_clip_becomes_a_download_range():
    options = ytdlp_options.clip_options(
        make_task(start_time=5, end_time=12.5, force_keyframes=True)
    )
    ranges = list(options["download_ranges"]({}, None))
    assert ranges == [{"start_time": 5, "end_time": 12.5}]
    assert options["force_keyframes_at_cuts"] is True


def test_a_clip_without_an_end_runs_to_the_end():
    options = ytdlp_options.clip_options(make_task(start_time=5))
    ranges = list(options["download_ranges"]({}, None))
    assert ranges == [{"start_time": 5, "end_time": math.inf}]
    assert options["force_keyframes_at_cuts"] is False


def test_yt_dlp_error_messages_lose_their_prefix_and_colours():
    error = Exception("\x1b[0;31mERROR:\x1b[0m [generic] Unable to download webpage: HTTP 404")
    assert errors.clean_message(error) == "[generic] Unable to download webpage: HTTP 404"


PROGRESSIVE = {"protocol": "http", "url": "http://media.example/v.mp4"}


def test_a_clip_of_a_direct_file_is_checked_for_byte_ranges():
    task = make_task(start_time=2, end_time=6)
    assert ytdlp.clip_files(task, PROGRESSIVE) == [PROGRESSIVE]


def test_a_clip_of_separate_direct_files_checks_each_of_them():
    audio = {"protocol": "https", "url": "https://media.example/a.m4a"}
    info = {"protocol": "http+https", "requested_formats": [PROGRESSIVE, audio]}
    assert ytdlp.clip_files(make_task(end_time=6), info) == [PROGRESSIVE, audio]


def test_a_clip_of_a_manifest_needs_no_byte_ranges():
    dash = {"protocol": "http_dash_segments", "url": "http://media.example/v.mpd"}
    info = {"requested_formats": [dash, PROGRESSIVE]}
    assert ytdlp.clip_files(make_task(start_time=2), info) == []
    hls = {"protocol": "m3u8_native", "url": "http://media.example/v.m3u8"}
    assert ytdlp.clip_files(make_task(start_time=2), hls) == []


def test_a_whole_download_is_no_clip():
    assert ytdlp.clip_files(make_task(), PROGRESSIVE) == []


def test_only_the_byte_asked_for_means_the_server_honours_ranges():
    assert ytdlp.honours_ranges(206, {"Content-Range": "bytes 0-0/898876"})
    assert not ytdlp.honours_ranges(200, {"Content-Length": "898876"})
    # A 206 of another part than the one asked for is a server not to seek in.
    assert not ytdlp.honours_ranges(206, {"Content-Range": "bytes 0-898875/898876"})
    assert not ytdlp.honours_ranges(206, {})
