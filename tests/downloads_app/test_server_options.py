"""The operator's yt-dlp configuration (YTDLP_* settings)."""

from pathlib import Path

import pytest

from downloads_app import checks, connection_guard, errors, ytdlp, ytdlp_options


def test_server_options_come_from_settings(settings):
    settings.YTDLP_PROXY = "http://proxy.example:3128"
    settings.YTDLP_COOKIES_FILE = "/etc/ytdlphost/cookies.txt"
    settings.YTDLP_JS_RUNTIMES = ["node", "deno:/opt/deno"]
    options = ytdlp_options.base_options()
    assert options["proxy"] == "http://proxy.example:3128"
    assert options["cookiefile"] == "/etc/ytdlphost/cookies.txt"
    assert options["js_runtimes"] == {"node": {"path": None}, "deno": {"path": "/opt/deno"}}


def test_extractor_args_of_several_extractors_are_separated_by_spaces(settings):
    settings.YTDLP_EXTRACTOR_ARGS = "youtube:player-client=tv,web;lang=en generic:impersonate"
    assert ytdlp_options.server_options() == {
        "extractor_args": {
            "youtube": {"player_client": ["tv", "web"], "lang": ["en"]},
            "generic": {"impersonate": [""]},
        }
    }


def test_a_setting_yt_dlp_rejects_is_a_system_check_error_naming_it(settings):
    settings.YTDLP_PROXY = "http://proxy.example:3128"
    settings.YTDLP_EXTRACTOR_ARGS = "no-colon-here"
    with pytest.raises(errors.DownloadFailed, match="settings are invalid") as failure:
        ytdlp_options.server_options()  # a task fails as an expected failure, not a traceback
    assert "no-colon-here" not in str(failure.value)
    assert failure.value.detail == ""  # /status's error_detail shows no operator setting
    (error,) = checks.ytdlp_settings_are_valid(None)
    assert error.id == "downloads_app.E003"
    assert error.msg.startswith("YTDLP_EXTRACTOR_ARGS: wrong --extractor-args formatting")
    assert "Usage" not in error.msg


def test_no_server_options_by_default():
    options = ytdlp_options.base_options()
    assert not {"proxy", "cookiefile", "impersonate", "extractor_args", "js_runtimes"} & set(
        options
    )


@pytest.mark.django_db
def test_downloads_go_through_the_configured_proxy(run_task, media_server, settings):
    # The fixture server answers proxy-style requests ("GET http://host/path") for its
    # own files, so a host that does not even resolve is fetched through it.
    settings.YTDLP_PROXY = media_server.base_url
    before = media_server.count("/progressive.mp4")
    _, status = run_task("/get_info", {"url": "http://proxied.invalid/progressive.mp4"})
    assert status["status"] == "completed", status.get("error")
    assert media_server.count("/progressive.mp4") > before


def test_info_documents_lose_cookies_and_credential_headers_at_any_depth():
    headers = {"User-Agent": "ua", "Cookie": "a=1", "authorization": "Bearer x", "Referer": "r"}
    fmt = {"format_id": "0", "cookies": "a=1; Domain=victim.example", "http_headers": headers}
    info = {
        "title": "t", "cookies": "a=1", "http_headers": headers, "formats": [fmt],
        "requested_formats": [fmt], "requested_downloads": [{"requested_formats": [fmt]}],
        "entries": [{"formats": [fmt]}],
    }  # fmt: skip
    cleaned = ytdlp.without_credentials(info)
    text = repr(cleaned)
    assert "a=1" not in text and "Bearer" not in text and "cookies" not in text
    assert cleaned["formats"][0]["http_headers"] == {"User-Agent": "ua", "Referer": "r"}
    assert cleaned["title"] == "t" and info["formats"][0]["cookies"]  # the input is kept


def test_yt_dlp_works_on_a_private_copy_of_the_operators_cookie_jar(tmp_path):
    from http.cookiejar import Cookie

    operator_file = tmp_path / "cookies.txt"
    operator_file.write_text(
        "# Netscape HTTP Cookie File\nsite.example\tFALSE\t/\tFALSE\t0\ts\tv\n"
    )
    before = operator_file.read_bytes()
    ydl = connection_guard.GuardedYoutubeDL({"cookiefile": str(operator_file), "quiet": True})
    private_copy = ydl.params["cookiefile"]
    assert private_copy != str(operator_file)
    assert ydl.cookiejar.get_cookie_header("http://site.example/") == "s=v"
    ydl.cookiejar.set_cookie(
        Cookie(0, "set", "by-site", None, False, "site.example", False, False, "/", True,
               False, None, False, None, None, {})
    )  # fmt: skip
    ydl.close()
    assert operator_file.read_bytes() == before
    assert not Path(private_copy).exists()
