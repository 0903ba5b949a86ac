"""The name a client saves a task's file under: the media's title and the real extension,
in a Content-Disposition header that is safe whatever the title holds."""

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
from django.utils.http import content_disposition_header

from downloads_app.files import (
    MAX_NAME_BYTES,
    content_disposition,
    download_names,
    playlist_member_names,
)

pytestmark = pytest.mark.django_db


def parse(header: str) -> tuple[str, str, str]:
    """(disposition type, filename, filename*) of a header built here."""
    kind, plain, extended = header.split("; ")
    assert plain.startswith('filename="') and plain.endswith('"')
    assert extended.startswith("filename*=UTF-8''")
    return kind, plain[len('filename="') : -1], unquote(extended[len("filename*=UTF-8''") :])


def test_the_name_is_the_title_with_the_files_extension():
    header = content_disposition("video.mp4", "Big Buck Bunny")
    assert header == (
        "attachment; filename=\"Big Buck Bunny.mp4\"; filename*=UTF-8''Big%20Buck%20Bunny.mp4"
    )


def test_unicode_titles_keep_their_letters_in_filename_star_and_an_ascii_fallback():
    kind, plain, extended = parse(content_disposition("audio.opus", "Café «noir» 日本語"))
    assert kind == "attachment"
    assert extended == "Café «noir» 日本語.opus"
    assert plain == "Cafe noir.opus"
    assert plain.isascii()


def test_a_title_with_no_ascii_letters_falls_back_to_the_stored_name_in_ascii():
    _, plain, extended = parse(content_disposition("video.webm", "日本語のタイトル"))
    assert plain == "video.webm"
    assert extended == "日本語のタイトル.webm"


@pytest.mark.parametrize("title", ["", "   ", "...", "///", "\u202e"])
def test_an_empty_or_unusable_title_gives_the_stored_name(title):
    assert download_names("video.mp4", title) == ("video.mp4", "video.mp4")


@pytest.mark.parametrize(
    "title",
    [
        "../../etc/passwd",
        "..\\..\\Windows\\system32",
        'say "hi"; filename=evil.exe',
        "line\r\nSet-Cookie: a=b",
        "tab\there\x00nul\x7fdel",
        "C:\\Users\\x",
        "<script>|?*",
    ],
)
def test_no_path_quote_or_control_character_reaches_the_name(title):
    header = content_disposition("video.mp4", title)
    assert header.isascii()
    assert not any(ord(c) < 0x20 or c == "\x7f" for c in header)
    _, plain, extended = parse(header)
    for name in (plain, extended):
        assert not set(name) & set('/\\"\r\n\t\x00:*?<>|'), name
        assert not name.startswith(".")
        assert name.endswith(".mp4")


def test_quotes_cannot_add_parameters_to_the_header():
    header = content_disposition("video.mp4", 'a"; filename="evil.exe')
    assert header.count('"') == 2  # the fallback's own quotes, nothing else
    assert parse(header)[1] == "a__ filename=_evil.exe.mp4"


def test_bidirectional_overrides_are_removed():
    _, plain, extended = parse(content_disposition("video.mp4", "holiday\u202egpj.exe"))
    assert "\u202e" not in extended
    assert extended == "holidaygpj.exe.mp4"


def test_very_long_titles_are_cut_to_a_sane_length_keeping_the_extension():
    for title in ("x" * 5000, "日本" * 2000, "é" * 3000):
        _, plain, extended = parse(content_disposition("audio.m4a", title))
        for name in (plain, extended):
            assert len(name.encode()) <= MAX_NAME_BYTES
            assert name.endswith(".m4a")
        assert len(extended) > 50  # cut, not dropped


def test_a_percent_in_the_title_is_escaped_and_kept_out_of_the_fallback():
    _, plain, extended = parse(content_disposition("video.mp4", "100% fun %41"))
    assert extended == "100% fun %41.mp4"
    assert "%" not in plain


def test_info_json_is_named_as_yt_dlp_names_it():
    assert download_names("info.json", "Big Buck Bunny") == (
        "Big Buck Bunny.info.json",
        "Big Buck Bunny.info.json",
    )


def test_a_real_download_is_served_under_its_title(run_task, client, progressive_url):
    task, status = run_task("/get_video", {"url": progressive_url, "output_format": "mkv"})
    assert task.title == "progressive"  # the generic extractor's title: the URL's name
    assert task.file_name == "video.mkv"  # the stored name and URL stay as they are
    assert status["file"] == f"/files/{task.id}/video.mkv"
    response = client.get(status["file"])
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        "attachment; filename=\"progressive.mkv\"; filename*=UTF-8''progressive.mkv"
    )
    ranged = client.get(status["file"], HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206
    assert ranged["Content-Disposition"] == response["Content-Disposition"]


def test_an_info_task_records_the_title_too(run_task, client, dash_url):
    task, status = run_task("/get_info", {"url": dash_url})
    assert task.title == "manifest"
    assert 'filename="manifest.info.json"' in client.get(status["file"])["Content-Disposition"]


def saved_by_curl(header: str, tmp_path) -> list[str]:
    """The names `curl -OJ` saves a download under when it is served with this
    Content-Disposition from a URL ending in /from-url.mp4."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Disposition", header)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"data")

        def log_message(self, format, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/from-url.mp4"
        subprocess.run(["curl", "-sSfOJ", url], cwd=tmp_path, check=True, timeout=60)
        server.shutdown()
    return sorted(path.name for path in tmp_path.iterdir())


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_saves_a_unicode_title_under_its_ascii_name_which_djangos_helper_alone_drops(
    tmp_path,
):
    # Why content_disposition adds filename*= to Django's content_disposition_header
    # rather than using it alone: for a non-ASCII name the helper gives only filename*=,
    # which curl -OJ ignores (it reads filename= only), so curl would save the file under
    # the URL's name. RFC 6266, appendix D: send both.
    name, _ = download_names("video.mp4", "Café noir")
    ours, djangos = tmp_path / "ours", tmp_path / "djangos"
    ours.mkdir()
    djangos.mkdir()
    assert saved_by_curl(content_disposition("video.mp4", "Café noir"), ours) == ["Cafe noir.mp4"]
    assert saved_by_curl(content_disposition_header(True, name), djangos) == ["from-url.mp4"]


def test_playlist_members_keep_their_template_names_made_unique():
    entries = [
        (1, "video.mp4", "First", False, ".mp4"),
        (2, "Same.mp4", "Second", True, ".mp4"),
        (3, "Same.mp4", "Third", True, ".mp4"),
        (10, "video.mp4", "Tenth", False, ".mp4"),
    ]
    assert playlist_member_names(entries) == [
        "01 - First.mp4",
        "Same.mp4",
        "Same (2).mp4",
        "10 - Tenth.mp4",
    ]
