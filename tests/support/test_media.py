"""The synthetic media and MediaServer behave as yt-dlp's generic extractor expects."""

import re
import sys
import time
import urllib.error
import urllib.request

import pytest
import yt_dlp

from tests.support.media_files import LIVE_SEGMENT_COUNT, codecs, duration

# Load the media fixtures as a plugin unless tests/conftest.py (imported before this module)
from tests.support.media_server import MediaServer

# Load the media fixtures as a plugin unless tests/conftest.py (imported before this module)
# already re-exports them; loading them twice would only earn an assertion-rewrite warning.
if "tests.support.media_fixtures" not in sys.modules:
    pytest_plugins = ["tests.support.media_fixtures"]

YDL_OPTS = {"quiet": True, "no_warnings": True, "noprogress": True, "cachedir": False}


def extract(url, **opts):
    with yt_dlp.YoutubeDL({**YDL_OPTS, **opts}) as ydl:
        return ydl.extract_info(url, download=False)


def fetch(url, **headers):
    """(status, headers, body) without raising on 4xx."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def media_sequence(playlist: str) -> int:
    return int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist).group(1))


def test_progressive_is_one_format_with_video_and_audio(progressive_url):
    info = extract(progressive_url)
    [fmt] = info["formats"]
    assert fmt["protocol"] == "http"
    assert fmt["ext"] == "mp4"
    # The generic extractor does not probe codecs (None = unknown); ffprobe the served file.
    assert fmt.get("vcodec") != "none"
    assert codecs(progressive_url) == {"video": ["h264"], "audio": ["aac"]}
    assert duration(progressive_url) == pytest.approx(10, abs=0.1)


def test_dash_has_three_video_heights_and_an_audio_track(dash_url):
    formats = extract(dash_url)["formats"]
    video = [f for f in formats if f.get("vcodec") != "none"]
    audio = [f for f in formats if f.get("vcodec") == "none" and f.get("acodec") != "none"]
    assert sorted(f["height"] for f in video) == [144, 240, 360]
    assert all(f["vcodec"].startswith("avc1") for f in video)
    assert [f["acodec"] for f in audio] == ["mp4a.40.2"]
    assert {f["protocol"] for f in formats} == {"http_dash_segments"}


def test_hls_vod_is_not_live(hls_vod_url):
    info = extract(hls_vod_url)
    assert len(info["formats"]) >= 1
    assert info["formats"][0]["protocol"] == "m3u8_native"
    assert not info.get("is_live")
    assert info["duration"] == 10


def test_live_is_detected_and_advances(live_url, live_dvr_url, media_server):
    info = extract(live_url)
    assert info["is_live"] is True
    assert info["live_status"] == "is_live"

    _, headers, body = fetch(live_url)
    first = body.decode()
    assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert "#EXT-X-ENDLIST" not in first
    assert first.count("#EXTINF:") == 6
    time.sleep(1.5)
    assert media_sequence(fetch(live_url)[2].decode()) > media_sequence(first)

    # The DVR playlist shares the timeline but keeps more history.
    dvr = fetch(live_dvr_url)[2].decode()
    assert dvr.count("#EXTINF:") > 6
    assert media_sequence(dvr) < media_sequence(first)


def test_live_segments_publish_with_the_clock(media_server):
    edge = media_server.live_edge()
    status, headers, body = fetch(media_server.url(f"live/seq_{edge:06d}.ts"))
    assert (status, headers["Content-Type"]) == (200, "video/mp2t")
    assert body[:1] == b"\x47"  # MPEG-TS sync byte
    assert fetch(media_server.url(f"live/seq_{edge + 5:06d}.ts"))[0] == 404
    assert media_server.count(f"/live/seq_{edge + 5:06d}.ts") == 1


def test_static_files_support_ranges_and_head(media_server, media_root):
    url = media_server.url("progressive.mp4")
    size = (media_root / "progressive.mp4").stat().st_size

    status, headers, body = fetch(url, Range="bytes=10-19")
    assert status == 206
    assert headers["Content-Range"] == f"bytes 10-19/{size}"
    assert body == (media_root / "progressive.mp4").read_bytes()[10:20]
    assert fetch(url, Range="bytes=-4")[1]["Content-Range"] == f"bytes {size - 4}-{size - 1}/{size}"

    status, headers, _ = fetch(url, Range=f"bytes={size}-")
    assert (status, headers["Content-Range"]) == (416, f"bytes */{size}")

    head = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(head) as resp:
        assert resp.headers["Content-Length"] == str(size)
        assert resp.read() == b""

    assert fetch(media_server.url("dash/manifest.mpd"))[1]["Content-Type"] == (
        "application/dash+xml"
    )
    assert fetch(media_server.url("../etc/passwd"))[0] == 404


def test_dash_best_video_and_audio_download_and_merge(dash_url, tmp_path):
    opts = {
        "format": "bv*+ba",
        "merge_output_format": "mp4",
        "outtmpl": str(tmp_path / "%(id)s.%(ext)s"),
    }
    with yt_dlp.YoutubeDL({**YDL_OPTS, **opts}) as ydl:
        info = ydl.extract_info(dash_url, download=True)
    path = info["requested_downloads"][0]["filepath"]
    assert codecs(path) == {"video": ["h264"], "audio": ["aac"]}
    assert duration(path) == pytest.approx(10, abs=1)
    assert info["height"] == 360


def test_live_material_wraps_around_with_a_discontinuity(media_root):
    now = [0.0]
    with MediaServer(media_root, clock=lambda: now[0]) as server:
        now[0] = LIVE_SEGMENT_COUNT - 30 + 2.5  # 2.5 s past the end of the material
        edge = server.live_edge()
        assert edge == LIVE_SEGMENT_COUNT + 1
        playlist = server.live_playlist()
        assert media_sequence(playlist) == edge - 5
        assert playlist.count("#EXT-X-DISCONTINUITY\n") == 1
        assert (
            f"#EXT-X-DISCONTINUITY\n#EXTINF:1.000000,\nseq_{LIVE_SEGMENT_COUNT:06d}.ts" in playlist
        )
        # Sequence 600 is file 0 again.
        status, _, body = fetch(server.url(f"live/seq_{LIVE_SEGMENT_COUNT:06d}.ts"))
        assert status == 200
        assert body == (media_root / "live" / "seg_00000.ts").read_bytes()


def test_a_server_without_ranges_answers_every_request_whole(no_range_media_server, media_root):
    url = no_range_media_server.url("progressive_index_at_end.mp4")
    whole = (media_root / "progressive_index_at_end.mp4").read_bytes()
    status, headers, body = fetch(url, Range="bytes=10-19")
    assert (status, body) == (200, whole)
    assert "Content-Range" not in headers and "Accept-Ranges" not in headers
    # The index (moov) follows the media (mdat), as ffmpeg writes an MP4 by default.
    assert whole.index(b"mdat") < whole.index(b"moov")
