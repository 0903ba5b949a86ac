"""gunicorn.conf.py, the one configuration of every way of starting the web server."""

import runpy
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


@pytest.fixture
def config(monkeypatch):
    def read(**environment):
        monkeypatch.setenv("YTDLPHOST_ENV_FILE", "")  # never the developer's .env
        for name in ("BIND", "PORT"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONFIG))

    return read


def test_it_listens_on_loopback_unless_told_otherwise(config):
    assert config()["bind"] == "127.0.0.1:5000"
    assert config(BIND="0.0.0.0", PORT="8000")["bind"] == "0.0.0.0:8000"  # noqa: S104


def test_it_runs_the_asgi_application_on_the_event_loop_worker(config):
    settings = config()
    assert settings["wsgi_app"] == "ytdlphost.asgi:application"
    assert settings["worker_class"] == "ytdlphost.workers.APIWorker"
