"""Parsing of clip and live times: "HH:MM:SS", "MM:SS" or a number of seconds."""

import math
import re

_CLOCK = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]?\d(?:\.\d+)?)$")


def parse_seconds(value) -> float:
    """Seconds as a float; raises ValueError with a readable message.

    Accepts an int or float, a numeric string ("90", "12.5"), "MM:SS" and "HH:MM:SS"
    (seconds may have a fraction). Negative and non-finite values are refused.
    """
    if isinstance(value, bool):  # bool is an int in Python; true is not a time
        raise ValueError("must be a number of seconds or HH:MM:SS")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond float's range, such as 10**400
            raise ValueError("must be a finite number of seconds") from None
    elif isinstance(value, str):
        text = value.strip()
        match = _CLOCK.match(text)
        if match:
            hours, minutes, secs = match.groups()
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError("must be a number of seconds or HH:MM:SS") from None
    else:
        raise ValueError("must be a number of seconds or HH:MM:SS")
    if not math.isfinite(seconds):
        raise ValueError("must be a finite number of seconds")
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def clock(seconds: float) -> str:
    """Seconds as "HH:MM:SS" (with the fraction of a second, when there is one)."""
    whole, milliseconds = divmod(round(seconds * 1000), 1000)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    fraction = f".{milliseconds:03d}".rstrip("0") if milliseconds else ""
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{fraction}"


def clip_outside_media(start: float | None, length: float | None) -> str | None:
    """Why a clip from `start` of media `length` seconds long cannot be made; None when it
    can (or the length is unknown). yt-dlp and ffmpeg make an empty file of such a clip
    without an error."""
    if start is None or length is None or start < length:
        return None
    return (
        f"The clip starts at {clock(start)}, after the end of the media, which is "
        f"{clock(length)} long: choose a start_time before {clock(length)}"
    )
