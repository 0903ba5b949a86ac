"""yt-dlp's messages in words a user understands (downloads_app/errors.py).

The messages are yt-dlp's own: produced by running it against the media server (HTTP,
DNS, refused, timed out, unsupported URL), or composed as its sources compose them
(yt_dlp/extractor/youtube/_video.py, YoutubeDL.py, extractor/common.py's login hints),
with the reasons YouTube gives.
"""

import pytest

from downloads_app.errors import user_message

COOKIES_HELP = (
    "Use --cookies-from-browser or --cookies for the authentication. See  "
    "https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to "
    "manually pass cookies. Also see  "
    "https://github.com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  for tips on "
    "effectively exporting YouTube cookies"
)
GEO_HELP = "\nYou might want to use a VPN or a proxy server (with --proxy) to workaround."


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        (
            "[generic] missing: Unable to download webpage: HTTP Error 404: Not Found "
            "(caused by <HTTPError 404: Not Found>)",
            "The URL answered 404 Not Found",
        ),
        (
            "unable to download video data: HTTP Error 403: Forbidden",
            "The URL answered 403 Forbidden",
        ),
        (
            "[youtube] dQw4w9WgXcQ: Unable to download API page: HTTP Error 429: Too Many "
            "Requests (caused by <HTTPError 429: Too Many Requests>)",
            "The URL answered 429 Too Many Requests",
        ),
    ],
)
def test_http_errors_say_what_the_url_answered(message, sentence):
    assert user_message(message) == sentence


@pytest.mark.parametrize(
    "message",
    [
        "Unsupported URL: http://127.0.0.1:46571/page.html",
        "[generic] clip: No video formats found!",
    ],
)
def test_a_page_without_media_says_so(message):
    assert user_message(message) == "No video or audio found at this URL"


@pytest.mark.parametrize(
    "message",
    [
        "[generic] x: Unable to download webpage: HTTPConnection(host='no-such-host.invalid', "
        "port=80): Failed to resolve 'no-such-host.invalid' ([Errno -2] Name or service not "
        "known) (caused by TransportError(\"HTTPConnection(host='no-such-host.invalid', "
        "port=80): Failed to resolve 'no-such-host.invalid' ([Errno -2] Name or service not "
        'known)"))',
        "[generic] x: Unable to download webpage: HTTPConnection(host='media.example', "
        "port=80): Failed to resolve 'media.example' ([Errno -3] Temporary failure in name "
        "resolution) (caused by TransportError(\"HTTPConnection(host='media.example', "
        "port=80): Failed to resolve 'media.example' ([Errno -3] Temporary failure in name "
        'resolution)"))',
        "[Errno -3] Temporary failure in name resolution",
    ],
)
def test_dns_failures_say_the_name_could_not_be_resolved(message):
    assert user_message(message) == "The host name could not be resolved"


def test_a_refused_connection_says_so():
    message = (
        "[generic] x: Unable to download webpage: HTTPConnection(host='127.0.0.1', port=9): "
        "Failed to establish a new connection: [Errno 111] Connection refused (caused by "
        "TransportError(\"HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new "
        'connection: [Errno 111] Connection refused"))'
    )
    assert user_message(message) == "The server at this URL refused the connection"


@pytest.mark.parametrize(
    "message",
    [
        "[generic] x: Unable to download webpage: HTTPConnectionPool(host='127.0.0.1', "
        'port=39223): Read timed out. (read timeout=2.0) (caused by TransportError("'
        "HTTPConnectionPool(host='127.0.0.1', port=39223): Read timed out. (read "
        'timeout=2.0)"))',
        "[generic] x: Unable to download webpage: Connection to media.example timed out. "
        "(connect timeout=30) (caused by TransportError('Connection to media.example timed "
        "out. (connect timeout=30)'))",
    ],
)
def test_timeouts_say_the_server_did_not_answer_in_time(message):
    assert user_message(message) == (
        "The server at this URL did not answer in time (the connection timed out)"
    )


@pytest.mark.parametrize(
    "message",
    [
        f"The uploader has not made this video available in your country{GEO_HELP}",
        "This video is not available from your location due to geo restriction\nThis video "
        f"is available in United States.{GEO_HELP}",
    ],
)
def test_geo_blocked_videos_say_so(message):
    assert user_message(message) == (
        "The video is not available in the server's country (geo-blocked)"
    )


def test_a_private_video_says_it_is_private():
    message = (
        "[youtube] abcdefghijk: Private video. Sign in if you've been granted access to this "
        f"video. {COOKIES_HELP}"
    )
    assert user_message(message) == "The video is private"


@pytest.mark.parametrize(
    "message",
    [
        "[youtube] abcdefghijk: Video unavailable. This video has been removed by the uploader",
        "[youtube] abcdefghijk: Video unavailable. This video is no longer available because "
        "the YouTube account associated with this video has been terminated.",
        "[youtube] abcdefghijk: Video unavailable",
        "[niconico] sm9: Video unavailable, may not exist or was deleted",
    ],
)
def test_removed_videos_say_they_are_unavailable(message):
    assert user_message(message) == "The video is unavailable: it was removed or never existed"


def test_the_bot_check_points_at_the_cookies_setting():
    message = f"[youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot. {COOKIES_HELP}"
    sentence = user_message(message)
    assert sentence.startswith("The site asks the server to prove it is not a bot")
    assert "YTDLP_COOKIES_FILE" in sentence
    assert "--cookies" not in sentence  # the user cannot pass yt-dlp options


def test_an_age_restricted_video_points_at_the_cookies_setting():
    message = (
        "[youtube] abcdefghijk: Sign in to confirm your age. This video may be inappropriate "
        f"for some users. {COOKIES_HELP}"
    )
    assert user_message(message).startswith("The video is age-restricted")
    assert "YTDLP_COOKIES_FILE" in user_message(message)


def test_a_format_that_matches_nothing_names_the_fields():
    message = (
        "[info] abcdefghijk: Requested format is not available. Use --list-formats for a list "
        "of available formats"
    )
    assert "video_format or audio_format" in user_message(message)


def test_drm_says_it_cannot_be_downloaded():
    message = "[youtube] abcdefghijk: This video is DRM protected"
    assert user_message(message) == "The video is DRM-protected and cannot be downloaded"


def test_a_message_it_does_not_know_is_kept_as_it_is():
    message = "[generic] x: Failed to parse XML (caused by ParseError('syntax error: line 1'))"
    assert user_message(message) == message


def test_the_requesters_url_does_not_decide_the_sentence():
    assert user_message("Unsupported URL: http://example.com/geo-restricted/Private%20video") == (
        "No video or audio found at this URL"
    )
    message = "[generic] geo-restricted: Unable to download webpage: HTTP Error 410: Gone"
    assert user_message(message) == "The URL answered 410 Gone"


def test_our_own_refusal_inside_yt_dlps_message_is_kept():
    refusal = (
        "refused to connect: points at a private or internal address (host "
        "'age-restricted.example'; see ALLOW_PRIVATE_URLS and ALLOWED_PRIVATE_NETWORKS)"
    )
    message = (
        f"[generic] x: Unable to download webpage: {refusal} (caused by "
        f'BlockedAddress("{refusal}"))'
    )
    assert user_message(message) == message
