"""Clips of a file whose server ignores byte ranges: downloaded whole and cut here, with
the same result as ffmpeg's clip from a server that honours them. Real yt-dlp and ffmpeg
against media served from 127.0.0.1; the MP4 has its index at the end, which ffmpeg cannot
read from a server it cannot seek in."""

import pytest

from tests.support.media_files import codecs, duration

pytestmark = pytest.mark.django_db

INDEX_AT_END = "progressive_index_at_end.mp4"
CLIP = {"start_time": 2, "end_time": 6, "output_format": "mp4"}


def requests_for(server, path):
    """(status, Range header) of each request the server answered for `path`."""
    return [(r.status, r.range) for r in server.records() if r.path == f"/{path}"]


@pytest.mark.parametrize("force_keyframes", [True, False])
def test_a_clip_from_a_server_without_ranges_matches_the_clip_ffmpeg_cuts_with_ranges(
    run_task, result_path, media_server, no_range_media_server, force_keyframes
):
    body = {**CLIP, "force_keyframes": force_keyframes}
    media_server.clear_log()
    no_range_media_server.clear_log()

    ranged, _ = run_task("/get_video", {**body, "url": media_server.url(INDEX_AT_END)})
    whole, status = run_task("/get_video", {**body, "url": no_range_media_server.url(INDEX_AT_END)})

    assert status["status"] == "completed", status.get("error")
    assert duration(result_path(whole)) == pytest.approx(duration(result_path(ranged)), abs=0.1)
    assert codecs(result_path(whole)) == codecs(result_path(ranged)) == {
        "video": ["h264"], "audio": ["aac"]
    }  # fmt: skip
    # Exact cuts are within a frame or two; keyframe cuts within one GOP (2 s here).
    assert duration(result_path(whole)) == pytest.approx(4, abs=0.3 if force_keyframes else 2.1)
    # With ranges, ffmpeg read parts of the file; without, yt-dlp downloaded all of it
    # (after the extractor's own request and the one-byte question).
    ranged_requests = requests_for(media_server, INDEX_AT_END)
    assert (206, "bytes=0-0") in ranged_requests
    assert any(
        status == 206 and byte_range != "bytes=0-0" for status, byte_range in ranged_requests
    )
    assert requests_for(no_range_media_server, INDEX_AT_END) == [
        (200, None), (200, "bytes=0-0"), (200, None)
    ]  # fmt: skip


def test_an_audio_clip_from_a_server_without_ranges_has_the_requested_length(
    run_task, result_path, no_range_media_server
):
    url = no_range_media_server.url(INDEX_AT_END)
    task, _ = run_task(
        "/get_audio",
        {
            "url": url,
            "start_time": 1,
            "end_time": 4,
            "output_format": "mp3",
            "force_keyframes": True,
        },
    )
    assert codecs(result_path(task)) == {"video": [], "audio": ["mp3"]}
    assert duration(result_path(task)) == pytest.approx(3, abs=0.2)


def test_max_filesize_bounds_the_whole_file_a_clip_is_cut_from(
    run_task, media_server, no_range_media_server, media_root, settings
):
    # Larger than the clip, smaller than the file it is cut from.
    settings.MAX_FILESIZE = (media_root / INDEX_AT_END).stat().st_size // 2
    body = {**CLIP, "force_keyframes": False}

    _, ranged = run_task("/get_video", {**body, "url": media_server.url(INDEX_AT_END)})
    _, whole = run_task("/get_video", {**body, "url": no_range_media_server.url(INDEX_AT_END)})

    assert ranged["status"] == "completed", ranged.get("error")
    assert whole["status"] == "error"
    assert "MAX_FILESIZE" in whole["error"]


def test_a_clip_after_the_end_of_a_file_cut_here_fails_naming_its_length(
    run_task, no_range_media_server
):
    url = no_range_media_server.url(INDEX_AT_END)
    _, status = run_task("/get_video", {"url": url, "start_time": 3600, "end_time": 3605})
    assert status["status"] == "error"
    assert status["error"].startswith(
        "The clip starts at 01:00:00, after the end of the media, which is 00:00:10"
    )
