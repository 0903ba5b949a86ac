"""The code of each failure of yt-dlp (downloads_app/errors.py: RULES and classify).

Each failure is raised the way yt-dlp raises it, and reaches us the way it does: an
extractor calls yt-dlp's own helpers (raise_login_required, raise_geo_restricted,
raise_no_formats, _search_regex) or raises as its source does, with the message texts of
yt-dlp's source (and, for YouTube, the reasons YouTube gives, composed as
extractor/youtube/_video.py composes them); YoutubeDL.extract_info turns it into its
DownloadError. Network failures are yt-dlp's own exception types, as
extractor/common.py's _request_webpage wraps them. Our own codes (limits, cancel,
recovery, playlists) are asserted where those paths are tested (test_limits.py,
test_lifecycle.py, test_recovery.py, test_playlists.py, e2e/test_supervision.py).
"""

import email.utils
import io
import time

import pytest
from yt_dlp import YoutubeDL
from yt_dlp.extractor.common import InfoExtractor
from yt_dlp.extractor.youtube import YoutubeIE
from yt_dlp.networking import Response
from yt_dlp.networking.exceptions import HTTPError, RequestError, SSLError, TransportError
from yt_dlp.utils import DownloadError, ExtractorError, UnsupportedError, UserNotLive, remove_end

from downloads_app.errors import DownloadFailed, ErrorCode, retry_after_header

YOUTUBE_LOGIN_HINT = YoutubeIE(None)._youtube_login_hint


class SiteIE(InfoExtractor):
    """An extractor whose extraction fails as the test says."""

    _VALID_URL = r"https://site\.test/(?P<id>\w+)"
    failure = None

    def _real_extract(self, url):
        type(self).failure(self, self._match_id(url))


class QuietLogger:
    def debug(self, message):
        pass

    warning = error = debug


@pytest.fixture(scope="module")
def ydl():
    ydl = YoutubeDL({"logger": QuietLogger()})
    ydl.add_info_extractor(SiteIE())
    return ydl


def failure_of(ydl, failure) -> DownloadFailed:
    """What the task's error becomes when the extractor fails with `failure`."""
    SiteIE.failure = failure
    with pytest.raises(DownloadError) as raised:
        ydl.extract_info("https://site.test/abcdefghijk", download=False, ie_key="Site")
    return DownloadFailed.from_ytdlp(raised.value)


def no_formats(message):
    """The site's reason, as an extractor gives it (raise_no_formats, expected)."""
    return lambda ie, video_id: ie.raise_no_formats(message, expected=True, video_id=video_id)


def youtube_reason(reason):
    """A YouTube reason that asks to sign in, with the hint yt-dlp adds to it."""
    reason = remove_end(reason, "This helps protect our community. Learn more")
    return no_formats(f"{remove_end(reason.strip(), '.')}. {YOUTUBE_LOGIN_HINT}")


def webpage_failure(make_error):
    """A request of the extractor fails: _request_webpage's ExtractorError, its cause the
    networking error `make_error()` makes."""

    def fail(ie, video_id):
        try:
            raise make_error()
        except RequestError as error:
            raise ExtractorError(
                f"Unable to download webpage: {error}", cause=error, video_id=video_id
            ) from error

    return fail


def answered(status, reason, headers=None):
    """The site answers an HTTP error."""
    url = "https://site.test/x"
    return webpage_failure(
        lambda: HTTPError(Response(io.BytesIO(b""), url, headers or {}, status, reason))
    )


def transport_failure(error):
    return webpage_failure(lambda: error)


def raising(exception):
    def fail(ie, video_id):
        raise exception

    return fail


CASES = {
    "unsupported_url": raising(UnsupportedError("https://site.test/page.html")),
    "not_found 404": answered(404, "Not Found"),
    "not_found 410": answered(410, "Gone"),
    "not_found youporn": raising(ExtractorError("Video unavailable", expected=True)),
    "not_found youtube": no_formats(
        "Video unavailable. This video has been removed by the uploader"
    ),
    "forbidden": answered(403, "Forbidden"),
    "login_required": lambda ie, video_id: ie.raise_login_required(),
    "login_required youtube": lambda ie, video_id: ie.raise_login_required(
        f"Login details are needed to download this content. {YOUTUBE_LOGIN_HINT}", method=None
    ),
    "login_required 401": answered(401, "Unauthorized"),
    "bot_check": youtube_reason(
        "Sign in to confirm you’re not a bot. This helps protect our community. Learn more"
    ),
    "bot_check captcha": no_formats(
        "Video unavailable. YouTube is requiring a captcha challenge before playback"
    ),
    "age_restricted": youtube_reason(
        "Sign in to confirm your age. This video may be inappropriate for some users."
    ),
    "geo_blocked": lambda ie, video_id: ie.raise_geo_restricted(countries=["US"]),
    "geo_blocked youtube": lambda ie, video_id: ie.raise_geo_restricted(
        "The uploader has not made this video available in your country", ["US"]
    ),
    "private youtube": youtube_reason(
        "Private video. Sign in if you've been granted access to this video"
    ),
    "private iwara": lambda ie, video_id: ie.raise_login_required(
        "Private video. Login if you have permissions to watch", method="password"
    ),
    "live_not_started eplus": no_formats("This live event will begin at 2026-12-24 20:00:00 JST"),
    "live_not_started youtube": no_formats("This live event will begin in a few moments."),
    "live_not_started channel": raising(UserNotLive(video_id="abcdefghijk")),
    "rate_limited 429": answered(429, "Too Many Requests"),
    "rate_limited damtomo": raising(
        ExtractorError("You are rate-limited. Try again later.", expected=True)
    ),
    "rate_limited instagram": raising(
        ExtractorError("You have exceeded the rate-limit for accessing posts anonymously")
    ),
    "drm_protected": lambda ie, video_id: ie.report_drm(video_id),
    "network reset": transport_failure(
        TransportError(cause=ConnectionResetError(104, "Connection reset by peer"))
    ),
    "network tls": transport_failure(
        SSLError(cause="[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    ),
    "site_error 503": answered(503, "Service Unavailable"),
    "site_error words": raising(ExtractorError("This clip is not ready yet", expected=True)),
    "internal regex": lambda ie, video_id: ie._search_regex(r"title=(\w+)", "", "title"),
    "internal unexpected": raising(ExtractorError("Unable to parse the player response")),
}


@pytest.mark.parametrize("case", CASES)
def test_each_failure_of_yt_dlp_has_its_code(ydl, case):
    assert failure_of(ydl, CASES[case]).code == case.split()[0]


def test_the_codes_of_the_cases_are_the_documented_codes():
    codes = {case.split()[0] for case in CASES}
    assert codes <= set(ErrorCode.values)


def test_a_format_that_matches_nothing_is_format_unavailable():
    # YoutubeDL raises it itself (process_video_result), without an exception behind it.
    failure = DownloadFailed.from_ytdlp(
        DownloadError(
            "ERROR: [site] abcdefghijk: Requested format is not available. Use --list-formats "
            "for a list of available formats"
        )
    )
    assert failure.code == ErrorCode.FORMAT_UNAVAILABLE


def test_a_bug_report_message_without_an_exception_is_internal():
    failure = DownloadFailed.from_ytdlp(
        DownloadError(
            "ERROR: fragment 3 not found; please report this issue on  "
            "https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue "
            "template. Confirm you are on the latest version using  yt-dlp -U"
        )
    )
    assert failure.code == ErrorCode.INTERNAL


def test_the_sites_own_words_never_make_an_internal_error(ydl):
    failure = failure_of(ydl, raising(ExtractorError("Access denied by the site", expected=True)))
    assert failure.code == ErrorCode.SITE_ERROR


def test_the_human_error_text_is_unchanged_by_the_code(ydl):
    failure = failure_of(ydl, lambda ie, video_id: ie.raise_login_required())
    assert str(failure) == failure.detail  # no sentence for it: yt-dlp's own words


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"Retry-After": "120"}, 120),
        ({}, 60),  # the site did not say: DEFAULT_RETRY_AFTER
    ],
)
def test_a_429_waits_as_the_site_said(ydl, headers, retry_after):
    failure = failure_of(ydl, answered(429, "Too Many Requests", headers))
    assert (failure.code, failure.retry_after) == (ErrorCode.RATE_LIMITED, retry_after)


def test_a_503_passes_on_its_retry_after(ydl):
    failure = failure_of(ydl, answered(503, "Service Unavailable", {"Retry-After": "30"}))
    assert (failure.code, failure.retry_after) == (ErrorCode.SITE_ERROR, 30)


def test_youtubes_rate_limit_waits_the_hour_it_names(ydl):
    # extractor/youtube/_video.py adds "rate-limited by YouTube for up to an hour".
    reason = (
        "This content isn't available, try again later. The current session has been "
        "rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to "
        "add a delay between video requests to avoid exceeding the rate limit."
    )
    failure = failure_of(ydl, no_formats(reason))
    assert (failure.code, failure.retry_after) == (ErrorCode.RATE_LIMITED, 3600)


def test_codes_that_waiting_does_not_fix_have_no_retry_after(ydl):
    assert failure_of(ydl, answered(404, "Not Found")).retry_after is None


def test_retry_after_reads_seconds_and_http_dates():
    now = float(int(time.time()))  # an HTTP date has whole seconds
    assert retry_after_header("120") == 120
    assert retry_after_header(email.utils.formatdate(now + 90, usegmt=True), now=now) == 90
    assert retry_after_header(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0
    assert retry_after_header("99999999999999999999") == 86400  # at most a day
    assert retry_after_header("soon") is None
    assert retry_after_header(None) is None


@pytest.mark.parametrize(
    ("refusal", "code"),
    [
        (
            "refused to connect: points at a private or internal address (host "
            "'media.example'; see ALLOW_PRIVATE_URLS and ALLOWED_PRIVATE_NETWORKS)",
            ErrorCode.NOT_ALLOWED,
        ),
        (
            "the response from https://site.test/x is larger than the server's limit for "
            "pages, manifests and playlists (MAX_PAGE_SIZE, 1000 bytes)",
            ErrorCode.TOO_LARGE,
        ),
    ],
)
def test_our_own_refusals_inside_yt_dlp_have_the_code_of_their_setting(ydl, refusal, code):
    failure = failure_of(ydl, transport_failure(TransportError(refusal)))
    assert failure.code == code
