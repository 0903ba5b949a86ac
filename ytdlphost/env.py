"""Reading settings from the environment.

A value that cannot be parsed falls back to its default and is recorded in
SETTINGS_ERRORS, which a system check (ytdlphost/checks.py) reports with a clear message,
so a typo in a deployment shows up as a check error, not a traceback.
"""

import os
from urllib.parse import urlsplit

SETTINGS_ERRORS: list[str] = []


def _report(message: str) -> None:
    # A variable may be read twice (state.prepare() reads METRICS_ENABLED before the
    # settings do): one message each.
    if message not in SETTINGS_ERRORS:
        SETTINGS_ERRORS.append(message)


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    _report(f"{name}={raw!r} is not a boolean (use true or false)")
    return default


def env_number(name: str, default, cast=int, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        _report(f"{name}={raw!r} is not a valid {cast.__name__}")
        return default
    if minimum is not None and value < minimum:
        _report(f"{name}={raw!r} must be at least {minimum}")
        return default
    return value


SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """Bytes, from a number with an optional K/M/G/T suffix ("500M", "2G", "1.5GiB")."""
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    digits = raw.rstrip("KMGT")
    unit = raw[len(digits) :]
    if unit not in SIZE_UNITS:
        raise ValueError(text)
    value = int(float(digits) * SIZE_UNITS[unit])
    if value < 0:
        raise ValueError(text)
    return value


def env_size(name: str, default: str) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return parse_size(default)
    try:
        return parse_size(raw)
    except ValueError:
        _report(f"{name}={raw!r} is not a size like 500M or 2G")
        return parse_size(default)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_url(name: str, default: str) -> str:
    """An http:// or https:// URL with a host, without a trailing slash (the server adds
    its paths)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _report(f"{name}={raw!r} is not an http:// or https:// URL")
        return default
    return raw.rstrip("/")


def env_counts(name: str, default: str = "") -> dict[str, int]:
    """`name=N` pairs, comma-separated (`youtube.com=2,*=4`), each N at least 1; a pair
    that is not one is reported and left out."""
    counts = {}
    for item in env_list(name, default):
        key, sign, number = item.partition("=")
        try:
            count = int(number)
        except ValueError:
            count = 0
        if not sign or not key.strip() or count < 1:
            _report(f"{name} holds {item!r}, which is not a name=N pair with N at least 1")
            continue
        counts[key.strip().lower()] = count
    return counts
