"""yt-dlp's error messages in words a user understands, the code a program acts on
(ErrorCode), and the failure of a task that carries both (DownloadFailed).

yt-dlp reports failures in its own terms: the extractor, the video id, the exception it
caught and its cause (`[generic] x: Unable to download webpage: HTTP Error 404: Not Found
(caused by <HTTPError 404: Not Found>)`). A task's `error` says what happened in a
sentence instead, for the common cases in RULES; its `error_detail` keeps yt-dlp's own
message for whoever needs it, and its `error_code` says it for a program. Messages that
match no sentence are shown as they are. So are our own refusals that reach yt-dlp's
message from inside it (the connection guard's, MAX_PAGE_SIZE's): they are sentences
already, and each names its setting, which gives their code (SETTING_CODES).

One table, RULES, gives both the code and the sentence: a message is matched once. The
first pattern that matches wins. Network failures come first: their wording is yt-dlp's
and Python's own, while what a site says about a video (private, removed...) comes later
and names words a host name could contain. URLs and the `[extractor] id:` prefix are left
out of the search: they are the requester's, and `/geo-restricted.html` says nothing
about the failure. A message no rule knows is coded by yt-dlp's exception types
(code_of_exception): its network errors, and its own bugs (`internal`).
"""

import email.utils
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import (
    ContentTooShortError,
    ExtractorError,
    GeoRestrictedError,
    PostProcessingError,
    UnavailableVideoError,
    UnsupportedError,
    UserNotLive,
)


class ErrorCode(models.TextChoices):
    """Why a task ended in error, for a program to act on (docs/api.md lists what each
    means and what a client should do). `internal` means exactly "the software failed"
    (yt-dlp's unexpected failures, ours): it is the signal of a bad yt-dlp version, so
    nothing a site says is ever `internal`."""

    UNSUPPORTED_URL = "unsupported_url"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    LOGIN_REQUIRED = "login_required"
    BOT_CHECK = "bot_check"
    AGE_RESTRICTED = "age_restricted"
    GEO_BLOCKED = "geo_blocked"
    PRIVATE = "private"
    LIVE_NOT_STARTED = "live_not_started"
    RATE_LIMITED = "rate_limited"
    DRM_PROTECTED = "drm_protected"
    FORMAT_UNAVAILABLE = "format_unavailable"
    SITE_ERROR = "site_error"
    NETWORK = "network"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    NO_SPACE = "no_space"
    # The finished file could not be put into the bucket (STORAGE=s3): the service's
    # storage failed, not the site nor the software.
    STORAGE_FAILED = "storage_failed"
    NOT_ALLOWED = "not_allowed"
    INVALID_REQUEST = "invalid_request"
    CONVERSION_FAILED = "conversion_failed"
    LIBRARY_FAILED = "library_failed"
    KEY_RATE_LIMITED = "key_rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    ENTRIES_FAILED = "entries_failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


# How long a client should wait before trying again (seconds) when the site gave no
# Retry-After: a minute, the start of the backoff a site that refuses is given.
DEFAULT_RETRY_AFTER = {ErrorCode.RATE_LIMITED: 60}
# The longest wait passed on (a day): a site's Retry-After can name any date, and the
# database's integer cannot hold any number.
MAX_RETRY_AFTER = 86400

COOKIES_HINT = (
    "the server's operator can give yt-dlp a signed-in account's cookies (YTDLP_COOKIES_FILE)"
)

# The code of an answer's HTTP status (the HTTP_STATUS rule); others are `site_error`.
HTTP_STATUS_CODES = {
    401: ErrorCode.LOGIN_REQUIRED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    410: ErrorCode.NOT_FOUND,
    429: ErrorCode.RATE_LIMITED,
}
HTTP_STATUS = "http_status"  # a rule whose code is its `status` group's (HTTP_STATUS_CODES)


@dataclass(frozen=True)
class Rule:
    """A pattern searched in yt-dlp's message (case-insensitively), the code of a message
    it matches, and the sentence the task's `error` says instead (None: yt-dlp's message
    is shown as it is; {name} is the pattern's group of that name). `retry_after`: what
    the words themselves say about waiting (seconds)."""

    pattern: str
    code: str
    sentence: str | None = None
    retry_after: int | None = None


RULES = [
    Rule(
        r"Failed to resolve|Name or service not known|Temporary failure in name resolution"
        r"|No address associated with hostname|nodename nor servname|getaddrinfo failed",
        ErrorCode.NETWORK,
        "The host name could not be resolved",
    ),
    Rule(
        r"Connection refused|Errno 111\b",
        ErrorCode.NETWORK,
        "The server at this URL refused the connection",
    ),
    Rule(
        r"timed out|TimeoutError",
        ErrorCode.NETWORK,
        "The server at this URL did not answer in time (the connection timed out)",
    ),
    Rule(
        r"Connection reset|Errno 104\b|Connection aborted|Remote end closed connection"
        r"|\bSSL|\bTLS\b|CERTIFICATE_VERIFY_FAILED|certificate verify failed"
        r"|IncompleteRead|bytes read, \d+ more expected",
        ErrorCode.NETWORK,
    ),
    Rule(
        r"HTTP Error (?P<status>\d{3}): (?P<reason>.*?)(?: \(caused by|$)",
        HTTP_STATUS,
        "The URL answered {status} {reason}",
    ),
    Rule(
        r"confirm you(?:'|’)re not a bot",
        ErrorCode.BOT_CHECK,
        "The site asks the server to prove it is not a bot ('Sign in to confirm you're not a "
        f"bot'); {COOKIES_HINT}",
    ),
    Rule(r"captcha", ErrorCode.BOT_CHECK),
    # YouTube's "This content isn't available, try again later": yt-dlp adds that the
    # session "has been rate-limited by YouTube for up to an hour".
    Rule(r"content isn(?:'|’)t available, try again later", ErrorCode.RATE_LIMITED, None, 3600),
    Rule(r"rate[- ]?limit|too many requests", ErrorCode.RATE_LIMITED),
    Rule(
        r"Private video|video is private|set to private",
        ErrorCode.PRIVATE,
        "The video is private",
    ),
    Rule(
        r"confirm your age|age[- ]restricted|inappropriate for some users",
        ErrorCode.AGE_RESTRICTED,
        f"The video is age-restricted; {COOKIES_HINT}",
    ),
    Rule(
        r"not (?:made this video )?available (?:in your country|from your location)"
        r"|geo[- ]?restrict",
        ErrorCode.GEO_BLOCKED,
        "The video is not available in the server's country (geo-blocked)",
    ),
    Rule(
        r"only available (?:for|to) registered users|Login details are needed"
        r"|login required|requires? (?:a )?login|account credentials|--cookies"
        r"|members[- ]only|Join this channel|available to (?:subscribers|members|premium)",
        ErrorCode.LOGIN_REQUIRED,
    ),
    Rule(
        r"live event will begin|Premieres? (?:in|will begin)|not currently live"
        r"|(?:stream|live|event) (?:has not|hasn't) (?:yet )?(?:started|begun)",
        ErrorCode.LIVE_NOT_STARTED,
    ),
    Rule(
        r"has been removed|been terminated|no longer available|Video unavailable"
        r"|video is unavailable|video does not exist|may not exist or was deleted",
        ErrorCode.NOT_FOUND,
        "The video is unavailable: it was removed or never existed",
    ),
    Rule(
        r"DRM protected",
        ErrorCode.DRM_PROTECTED,
        "The video is DRM-protected and cannot be downloaded",
    ),
    Rule(
        r"Requested format is not available",
        ErrorCode.FORMAT_UNAVAILABLE,
        "None of the media's formats matches the requested video_format or audio_format",
    ),
    Rule(
        r"Unsupported URL\b|No video formats found",
        ErrorCode.UNSUPPORTED_URL,
        "No video or audio found at this URL",
    ),
]
COMPILED_RULES = [(re.compile(rule.pattern, re.IGNORECASE), rule) for rule in RULES]
# What the requester chose: URLs, and the extractor's `[name] video id: ` prefix.
REQUESTERS_WORDS = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|^\[[^\]]+\] [^:\s]*: ", re.IGNORECASE)


# A setting's name, such as ALLOW_PRIVATE_URLS: our own messages name theirs.
SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
# The code of our own refusal that names its setting; any other setting: `not_allowed`.
SETTING_CODES = {
    "MAX_FILESIZE": ErrorCode.TOO_LARGE,
    "MAX_PAGE_SIZE": ErrorCode.TOO_LARGE,
    "PLAYLIST_MAX_ITEMS": ErrorCode.TOO_LARGE,
    "MIN_FREE_DISK": ErrorCode.NO_SPACE,
}


def our_settings(detail: str) -> list[str]:
    """The settings of ours that `detail` names: it is then our own refusal."""
    return [name for name in SETTING_NAME.findall(detail) if hasattr(settings, name)]


@dataclass(frozen=True)
class Reading:
    """What a message says: its code (None: no rule knows it), the sentence for the
    user, and how long its words say to wait (seconds, or None)."""

    code: str | None
    sentence: str
    retry_after: int | None = None


def read_message(detail: str) -> Reading:
    """yt-dlp's message `detail` read once: the first rule that matches gives both the
    code and the sentence (module docstring)."""
    if names := our_settings(detail):
        return Reading(SETTING_CODES.get(names[0], ErrorCode.NOT_ALLOWED), detail)
    searched = REQUESTERS_WORDS.sub(" ", detail)
    for pattern, rule in COMPILED_RULES:
        if match := pattern.search(searched):
            groups = match.groupdict()
            code = rule.code
            if code == HTTP_STATUS:
                code = HTTP_STATUS_CODES.get(int(groups["status"]), ErrorCode.SITE_ERROR)
            sentence = rule.sentence.format(**groups).strip() if rule.sentence else detail
            return Reading(code, sentence, rule.retry_after)
    return Reading(None, detail)


def user_message(detail: str) -> str:
    """The sentence for yt-dlp's message `detail`, or `detail` itself when none fits."""
    return read_message(detail).sentence


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those behind it, as yt-dlp keeps them: a DownloadError's
    `exc_info`, an ExtractorError's `cause` and `exc_info`, Python's own chain."""
    seen, pending = set(), [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        behind = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        pending += [behind, getattr(current, "cause", None), current.__cause__, current.__context__]


def retry_after_header(value: str | None, now: float | None = None) -> int | None:
    """Seconds from an HTTP Retry-After header: a number of seconds, or an HTTP date."""
    value = (value or "").strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # an HTTP date is GMT
        return None
    seconds = round(moment.timestamp() - (time.time() if now is None else now))
    return min(max(0, seconds), MAX_RETRY_AFTER)


def code_of_exception(exc: BaseException) -> str | None:
    """The code yt-dlp's exception types say, for a message no rule knows (or types whose
    own words vary by site)."""
    for cause in causes(exc):
        if isinstance(cause, HTTPError):
            return HTTP_STATUS_CODES.get(cause.status, ErrorCode.SITE_ERROR)
        if isinstance(cause, (TransportError, ContentTooShortError)):
            return ErrorCode.NETWORK
        if isinstance(cause, UnsupportedError):
            return ErrorCode.UNSUPPORTED_URL
        if isinstance(cause, GeoRestrictedError):
            return ErrorCode.GEO_BLOCKED
        if isinstance(cause, UserNotLive):
            return ErrorCode.LIVE_NOT_STARTED
        if isinstance(cause, UnavailableVideoError):
            return ErrorCode.FORMAT_UNAVAILABLE
        if isinstance(cause, PostProcessingError):
            return ErrorCode.CONVERSION_FAILED
        if isinstance(cause, ExtractorError) and not cause.expected:
            return ErrorCode.INTERNAL  # yt-dlp's "please report this issue"
    return None


# yt-dlp's bug_reports_message, which ends what it deems its own bug.
BUG_REPORT = re.compile(r"please report this issue", re.IGNORECASE)


def classify(exc: BaseException, detail: str) -> tuple[str, int | None, str]:
    """A failure of yt-dlp, `exc` with its message `detail`: its code, the seconds a
    client should wait before trying again (the site's Retry-After, or what the code
    implies: DEFAULT_RETRY_AFTER), and the sentence for the user.

    The message decides first (the site's words, which a type such as ExtractorError
    wraps alike), then yt-dlp's exception types; a failure neither knows is `site_error`:
    what is not yt-dlp's own bug is the site's doing.
    """
    reading = read_message(detail)
    code = reading.code or code_of_exception(exc)
    if code is None:
        code = ErrorCode.INTERNAL if BUG_REPORT.search(detail) else ErrorCode.SITE_ERROR
    retry_after = reading.retry_after
    for cause in causes(exc):
        if isinstance(cause, HTTPError) and (headers := getattr(cause.response, "headers", None)):
            said = retry_after_header(headers.get("Retry-After"))
            retry_after = retry_after if said is None else said
            break
    if retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER.get(code)
    return code, retry_after, reading.sentence


# yt-dlp prints its errors in colour: ESC [ ... m, and other CSI sequences.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    return ANSI_ESCAPE.sub("", text)


class DownloadFailed(Exception):
    """An expected failure of a task (bad URL, unavailable video, ...).

    Its message is meant for the user; `code` is its ErrorCode, `retry_after` the
    seconds to wait before trying again (or None); `detail` is yt-dlp's own message when
    the failure is yt-dlp's ("" when the message is ours).
    """

    def __init__(self, message: str, code: str, detail: str = "", retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after

    @classmethod
    def from_ytdlp(cls, exc: Exception) -> "DownloadFailed":
        """yt-dlp's error in a sentence when errors.py knows it, its own words kept."""
        detail = clean_message(exc)
        code, retry_after, sentence = classify(exc, detail)
        return cls(sentence, code, detail=detail, retry_after=retry_after)


def clean_message(exc: Exception) -> str:
    message = strip_ansi(str(exc)).strip()
    return message.removeprefix("ERROR: ").strip() or type(exc).__name__
