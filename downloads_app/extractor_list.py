"""yt-dlp's list of extractors, worked out once per process instead of by every YoutubeDL.

Each YoutubeDL() resolves its `allowed_extractors` (["default"]) against the names of all
of yt-dlp's ~1,750 extractors with `orderedSet_from_options`, which removes duplicates by
searching lists: quadratic, 43 ms of CPU, about half of what extracting a manifest's
metadata costs (bench/README.md, get_info of a direct file). Its answer depends on its
arguments only, so `install()` (from DownloadsAppConfig.ready()) puts a memo of it where
YoutubeDL's module looks it up. The worker's warm-up (ytdlp.warm_up) fills the memo, and
each task's child, a fork of the worker, inherits it.

Relies on one internal: the name `orderedSet_from_options` in the module yt_dlp.YoutubeDL.
Should an upgrade drop it, nothing is replaced and yt-dlp works as before, only slower.
"""

import functools
import importlib
import logging
from collections.abc import Mapping

logger = logging.getLogger("ytdlphost.ytdlp")

# Distinct argument lists remembered: the extractor list of each `allowed_extractors` in
# use (one, unless the operator sets it), and subtitle languages.
MEMO_SIZE = 32


def _frozen(value):
    """`value` (strings in lists, tuples and mappings) as a hashable key; TypeError for
    anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return tuple((_frozen(name), _frozen(item)) for name, item in value.items())
    if isinstance(value, list | tuple):
        items = tuple(value)
        if set(map(type, items)) <= {str}:  # the common case, without a call per name
            return items
        return tuple(_frozen(item) for item in items)
    raise TypeError(f"not memoized: {type(value).__name__}")


def memoized(original):
    """`original` (yt-dlp's orderedSet_from_options), remembering its answers."""
    memo: dict[tuple, list] = {}

    @functools.wraps(original)
    def ordered_set_from_options(options, alias_dict, *, use_regex=False, start=None):
        try:
            key = (_frozen(options), _frozen(alias_dict), use_regex, _frozen(start or ()))
        except TypeError:
            return original(options, alias_dict, use_regex=use_regex, start=start)
        if key not in memo:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = original(options, alias_dict, use_regex=use_regex, start=start)
        return list(memo[key])  # a list of its own, as the original returns

    ordered_set_from_options.memoized = True
    return ordered_set_from_options


def install() -> None:
    """Put the memo in place (harmless twice)."""
    module = importlib.import_module("yt_dlp.YoutubeDL")
    original = getattr(module, "orderedSet_from_options", None)
    if original is None:
        logger.warning("yt_dlp.YoutubeDL has no orderedSet_from_options: not memoized")
    elif not getattr(original, "memoized", False):
        module.orderedSet_from_options = memoized(original)
