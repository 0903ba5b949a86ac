"""yt-dlp's error messages in words a user understands, and the failure of a task that
carries them (DownloadFailed).

yt-dlp reports failures in its own terms: the extractor, the video id, the exception it
caught and its cause (`[generic] x: Unable to download webpage: HTTP Error 404: Not Found
(caused by <HTTPError 404: Not Found>)`). A task's `error` says what happened in a
sentence instead, for the common cases in REWRITES; its `error_detail` keeps yt-dlp's own
message for whoever needs it. Messages that match nothing here are shown as they are.
So are our own refusals that reach yt-dlp's message from inside it (the connection
guard's, MAX_PAGE_SIZE's): they are sentences already, and each names its setting.

The first pattern that matches wins. Network failures come first: their wording is
yt-dlp's and Python's own, while what a site says about a video (private, removed...)
comes later and names words a host name could contain. URLs and the `[extractor] id:`
prefix are left out of the search: they are the requester's, and `/geo-restricted.html`
says nothing about the failure.
"""

import re

from django.conf import settings

COOKIES_HINT = (
    "the server's operator can give yt-dlp a signed-in account's cookies (YTDLP_COOKIES_FILE)"
)

# (pattern searched in yt-dlp's message, case-insensitively; the sentence, in which
# {name} is the pattern's group of that name)
REWRITES = [
    (
        r"Failed to resolve|Name or service not known|Temporary failure in name resolution"
        r"|No address associated with hostname|nodename nor servname|getaddrinfo failed",
        "The host name could not be resolved",
    ),
    (r"Connection refused|Errno 111\b", "The server at this URL refused the connection"),
    (
        r"timed out|TimeoutError",
        "The server at this URL did not answer in time (the connection timed out)",
    ),
    (
        r"HTTP Error (?P<code>\d{3}): (?P<reason>.*?)(?: \(caused by|$)",
        "The URL answered {code} {reason}",
    ),
    (
        r"confirm you(?:'|’)re not a bot",
        "The site asks the server to prove it is not a bot ('Sign in to confirm you're not a "
        f"bot'); {COOKIES_HINT}",
    ),
    (r"Private video|video is private|set to private", "The video is private"),
    (
        r"confirm your age|age[- ]restricted|inappropriate for some users",
        f"The video is age-restricted; {COOKIES_HINT}",
    ),
    (
        r"not (?:made this video )?available (?:in your country|from your location)"
        r"|geo[- ]?restrict",
        "The video is not available in the server's country (geo-blocked)",
    ),
    (
        r"has been removed|been terminated|no longer available|Video unavailable"
        r"|video is unavailable|video does not exist|may not exist or was deleted",
        "The video is unavailable: it was removed or never existed",
    ),
    (r"DRM protected", "The video is DRM-protected and cannot be downloaded"),
    (
        r"Requested format is not available",
        "None of the media's formats matches the requested video_format or audio_format",
    ),
    (r"Unsupported URL\b|No video formats found", "No video or audio found at this URL"),
]
COMPILED_REWRITES = [(re.compile(pattern, re.IGNORECASE), text) for pattern, text in REWRITES]
# What the requester chose: URLs, and the extractor's `[name] video id: ` prefix.
REQUESTERS_WORDS = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|^\[[^\]]+\] [^:\s]*: ", re.IGNORECASE)


# A setting's name, such as ALLOW_PRIVATE_URLS: our own messages name theirs.
SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def names_our_setting(detail: str) -> bool:
    return any(hasattr(settings, name) for name in SETTING_NAME.findall(detail))


def user_message(detail: str) -> str:
    """The sentence for yt-dlp's message `detail`, or `detail` itself when none fits."""
    if names_our_setting(detail):
        return detail
    searched = REQUESTERS_WORDS.sub(" ", detail)
    for pattern, sentence in COMPILED_REWRITES:
        if match := pattern.search(searched):
            return sentence.format(**match.groupdict()).strip()
    return detail


# yt-dlp prints its errors in colour: ESC [ ... m, and other CSI sequences.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    return ANSI_ESCAPE.sub("", text)


class DownloadFailed(Exception):
    """An expected failure of a task (bad URL, unavailable video, ...).

    Its message is meant for the user; `detail` is yt-dlp's own message when the failure
    is yt-dlp's ("" when the message is ours).
    """

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail

    @classmethod
    def from_ytdlp(cls, exc: Exception) -> "DownloadFailed":
        """yt-dlp's error in a sentence when errors.py knows it, its own words kept."""
        detail = clean_message(exc)
        return cls(user_message(detail), detail=detail)


def clean_message(exc: Exception) -> str:
    message = strip_ansi(str(exc)).strip()
    return message.removeprefix("ERROR: ").strip() or type(exc).__name__
