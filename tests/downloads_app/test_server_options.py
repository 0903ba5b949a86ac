"""The operator's yt-dlp configuration (YTDLP_* settings)."""

import pytest

from downloads_app import ytdlp


def test_extractor_args_use_yt_dlp_command_line_syntax():
    parsed = ytdlp.parse_extractor_args("youtube:player-client=tv,web;lang=en generic:impersonate")
    assert parsed == {
        "youtube": {"player_client": ["tv", "web"], "lang": ["en"]},
        "generic": {"impersonate": [""]},
    }


def test_server_options_come_from_settings(settings):
    settings.YTDLP_PROXY = "http://proxy.example:3128"
    settings.YTDLP_COOKIES_FILE = "/etc/ytdlphost/cookies.txt"
    settings.YTDLP_JS_RUNTIMES = ["node", "deno:/opt/deno"]
    options = ytdlp.base_options()
    assert options["proxy"] == "http://proxy.example:3128"
    assert options["cookiefile"] == "/etc/ytdlphost/cookies.txt"
    assert options["js_runtimes"] == {"node": {}, "deno": {"path": "/opt/deno"}}


def test_no_server_options_by_default():
    options = ytdlp.base_options()
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
