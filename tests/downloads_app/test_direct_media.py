"""What ffprobe finds inside a direct file: started beside yt-dlp's extraction when the
URL names a media file, used only for the URL the extraction found, ended otherwise."""

import subprocess

import pytest

from downloads_app import direct_media


@pytest.fixture
def ffprobes(monkeypatch):
    """The ffprobe processes started, each with whether it was killed."""
    started = []

    class Recorded(subprocess.Popen):
        def __init__(self, args, *rest, **kwargs):
            super().__init__(args, *rest, **kwargs)
            self.url, self.killed = args[-1], False
            started.append(self)

        def kill(self):
            self.killed = True
            super().kill()

    monkeypatch.setattr(direct_media.subprocess, "Popen", Recorded)
    return started


def one_format(url: str) -> dict:
    return {"formats": [{"format_id": "0", "url": url, "protocol": "http"}], "url": url}


@pytest.mark.parametrize(
    ("url", "names_media"),
    [
        ("http://host/clip.mp4", True),
        ("http://host/a/song.MP3?token=1", True),
        ("http://host/clip.webm#t=3", True),
        ("http://host/index.m3u8", False),
        ("http://host/manifest.mpd", False),
        ("http://host/watch?v=clip.mp4", False),
        ("http://host/page.html", False),
        ("http://host/", False),
    ],
)
def test_a_url_names_a_media_file_by_the_extension_of_its_path(url, names_media):
    assert direct_media.names_media_file(url) is names_media


def test_the_probe_started_beside_the_extraction_describes_the_file_it_finds(
    ffprobes, progressive_url
):
    with direct_media.DirectMediaDescription(progressive_url) as description:
        assert [probe.url for probe in ffprobes] == [progressive_url]  # before extracting
        info = one_format(progressive_url)
        description.fill_in(info)
    assert len(ffprobes) == 1 and not ffprobes[0].killed
    assert (info["width"], info["height"], info["vcodec"]) == (320, 180, "h264")
    assert info["formats"][0]["acodec"] == "aac"


def test_a_file_found_elsewhere_is_probed_and_the_early_probe_ended(
    ffprobes, media_server, progressive_url
):
    named = media_server.url("progressive_index_at_end.mp4")
    with direct_media.DirectMediaDescription(named) as description:
        info = one_format(progressive_url)  # as when the named URL redirects
        description.fill_in(info)
    assert [probe.url for probe in ffprobes] == [named, progressive_url]
    assert ffprobes[1].returncode == 0 and info["height"] == 180
    assert ffprobes[0].poll() is not None  # the early one is over, used or not


def test_a_url_that_names_no_media_file_is_probed_after_the_extraction(
    ffprobes, media_server, progressive_url
):
    with direct_media.DirectMediaDescription(media_server.url("watch")) as description:
        assert ffprobes == []
        info = one_format(progressive_url)
        description.fill_in(info)
    assert [probe.url for probe in ffprobes] == [progressive_url]


def test_nothing_is_probed_when_yt_dlp_knows_the_format(ffprobes, progressive_url):
    info = one_format(progressive_url)
    info["formats"][0]["vcodec"] = "avc1"
    with direct_media.DirectMediaDescription(progressive_url) as description:
        description.fill_in(info)
    assert len(ffprobes) == 1 and ffprobes[0].poll() is not None  # ended
    assert "height" not in info


def test_an_extraction_that_fails_ends_the_early_probe(ffprobes, progressive_url):
    with pytest.raises(RuntimeError), direct_media.DirectMediaDescription(progressive_url):
        raise RuntimeError("the extraction failed")
    assert ffprobes[0].killed or ffprobes[0].returncode == 0
    assert ffprobes[0].poll() is not None
