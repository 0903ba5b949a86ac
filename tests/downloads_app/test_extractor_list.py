"""The memo of yt-dlp's extractor list (downloads_app/extractor_list.py): the same
extractors, worked out once."""

import importlib

import pytest
import yt_dlp
from yt_dlp.utils import orderedSet_from_options

from downloads_app.extractor_list import memoized

YOUTUBEDL_MODULE = importlib.import_module("yt_dlp.YoutubeDL")


def counting(calls):
    def original(*args, **kwargs):
        calls.append(args)
        return orderedSet_from_options(*args, **kwargs)

    return original


def test_it_is_installed_where_youtubedl_looks_it_up():
    assert getattr(YOUTUBEDL_MODULE.orderedSet_from_options, "memoized", False)


def test_a_youtubedl_loads_the_extractors_yt_dlp_works_out_itself(monkeypatch):
    # _ies: the extractors a YoutubeDL loaded, in the order it tries them.
    remembered = list(yt_dlp.YoutubeDL({"quiet": True})._ies)
    monkeypatch.setattr(YOUTUBEDL_MODULE, "orderedSet_from_options", orderedSet_from_options)
    assert remembered == list(yt_dlp.YoutubeDL({"quiet": True})._ies)


def test_an_answer_is_worked_out_once_and_each_caller_gets_a_list_of_its_own():
    calls = []
    memo = memoized(counting(calls))
    aliases = {"all": ["a", "b", "c"], "default": ["b", "a", "b"]}
    first = memo(["default"], aliases, use_regex=True)
    first.append("changed by its caller")
    assert memo(["default"], aliases, use_regex=True) == ["b", "a"]
    assert len(calls) == 1
    assert memo(["default", "-a"], aliases, use_regex=True) == ["b"]
    assert len(calls) == 2


def test_a_failure_is_raised_every_time_and_not_remembered():
    calls = []
    memo = memoized(counting(calls))
    for _ in range(2):
        with pytest.raises(ValueError):
            memo(["unknown"], {"all": ["a"]})
    assert len(calls) == 2


def test_arguments_it_cannot_key_go_to_yt_dlp_each_time():
    calls = []
    memo = memoized(counting(calls))
    aliases = {"all": ["a", "b"], "default": ["a"]}
    for _ in range(2):
        assert memo(["default"], aliases, start=iter(["b"])) == ["b", "a"]
    assert len(calls) == 2
