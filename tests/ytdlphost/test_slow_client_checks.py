"""The slow-client deadlines (ytdlphost/slow_clients.py) rely on uvicorn's protocol; a
system check says so when an upgrade removes what they use."""

from django.core.checks import ERROR
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ytdlphost import checks, slow_clients


def test_this_uvicorn_has_what_the_deadlines_rely_on():
    assert slow_clients.missing_internals() == []
    assert checks.slow_client_deadlines_apply(None) == []


def test_a_missing_internal_is_a_system_check_error_naming_it(monkeypatch):
    monkeypatch.delattr(HttpToolsProtocol, "pause_writing")
    errors = checks.slow_client_deadlines_apply(None)
    assert [error.id for error in errors] == ["ytdlphost.E007"]
    assert "HttpToolsProtocol.pause_writing" in errors[0].msg
    assert errors[0].level == ERROR  # an Error: `manage.py migrate` stops on it
