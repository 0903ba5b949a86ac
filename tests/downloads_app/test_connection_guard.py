"""The connection guard is installed on start, and a yt-dlp without the internals it
relies on fails the system checks."""

import pytest
from django.core.checks import ERROR
from yt_dlp.downloader import external as external_downloader
from yt_dlp.networking import _helper as networking_helper
from yt_dlp.networking import _urllib as urllib_handler

from downloads_app import checks, connection_guard


def test_the_guard_is_installed_once_django_is_set_up():
    assert connection_guard.installed()
    assert urllib_handler.create_connection is connection_guard._guarded_create_connection
    assert external_downloader.Popen is connection_guard._RelayedPopen
    assert checks.connection_guard_is_installed(None) == []


def test_installing_twice_is_harmless():
    connection_guard.install()
    assert connection_guard.installed()
    assert connection_guard.missing_internals() == []


def test_a_missing_internal_is_a_system_check_error_naming_it(monkeypatch):
    monkeypatch.delattr(networking_helper, "_socket_connect")
    errors = checks.connection_guard_is_installed(None)
    assert [error.id for error in errors] == ["downloads_app.E001"]
    assert "yt_dlp.networking._helper._socket_connect" in errors[0].msg
    assert errors[0].level == ERROR  # an Error: `manage.py migrate` stops on it


def test_a_missing_patched_function_leaves_the_guard_uninstalled(monkeypatch):
    monkeypatch.delattr(urllib_handler, "create_connection")
    ids = [error.id for error in checks.connection_guard_is_installed(None)]
    assert ids == ["downloads_app.E001", "downloads_app.E002"]
    connection_guard.install()  # refuses: nothing it could replace
    assert not hasattr(urllib_handler, "create_connection")


def test_a_yt_dlp_without_the_guard_refuses_to_download(monkeypatch):
    monkeypatch.setattr(external_downloader, "Popen", object)
    assert not connection_guard.installed()
    with pytest.raises(connection_guard.BlockedAddress):
        connection_guard.GuardedYoutubeDL({"quiet": True})
