"""Settings from the environment: every bad value falls back to its default and becomes
a system-check error that names the variable and what it should look like."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ytdlphost import env, state

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def errors(monkeypatch):
    """SETTINGS_ERRORS as these tests leave it: emptied before, restored after."""
    monkeypatch.setattr(env, "SETTINGS_ERRORS", [])
    return lambda: env.SETTINGS_ERRORS


@pytest.mark.parametrize(
    "raw, expected", [("true", True), ("ON", True), ("1", True), ("no", False), ("0", False)]
)
def test_booleans_are_read_in_their_usual_spellings(monkeypatch, errors, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.env_bool("SOME_FLAG", not expected) is expected
    assert errors() == []


def test_a_bad_boolean_keeps_the_default_and_is_reported(monkeypatch, errors):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    assert env.env_bool("SOME_FLAG", True) is True
    assert errors() == ["SOME_FLAG='maybe' is not a boolean (use true or false)"]


def test_a_bad_number_keeps_the_default_and_is_reported(monkeypatch, errors):
    monkeypatch.setenv("SOME_COUNT", "four")
    assert env.env_number("SOME_COUNT", 4) == 4
    assert errors() == ["SOME_COUNT='four' is not a valid int"]


def test_a_number_below_its_minimum_is_reported(monkeypatch, errors):
    monkeypatch.setenv("SOME_SECONDS", "0.5")
    assert env.env_number("SOME_SECONDS", 3.0, cast=float, minimum=1.0) == 3.0
    assert errors() == ["SOME_SECONDS='0.5' must be at least 1.0"]


@pytest.mark.parametrize(
    "raw, expected",
    [("0", 0), ("512", 512), ("500M", 500 * 1024**2), ("1.5GiB", 1536 * 1024**2), ("2g", 2 << 30)],
)
def test_sizes_take_binary_suffixes(monkeypatch, errors, raw, expected):
    monkeypatch.setenv("SOME_SIZE", raw)
    assert env.env_size("SOME_SIZE", "1G") == expected
    assert errors() == []


@pytest.mark.parametrize("raw", ["lots", "5X", "-1M", "M"])
def test_a_bad_size_keeps_the_default_and_is_reported(monkeypatch, errors, raw):
    monkeypatch.setenv("SOME_SIZE", raw)
    assert env.env_size("SOME_SIZE", "1G") == 1 << 30
    assert errors() == [f"SOME_SIZE={raw!r} is not a size like 500M or 2G"]


def test_lists_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("SOME_LIST", " a, b ,,c ")
    assert env.env_list("SOME_LIST", "") == ["a", "b", "c"]
    monkeypatch.delenv("SOME_LIST")
    assert env.env_list("SOME_LIST", "x,y") == ["x", "y"]


@pytest.mark.parametrize(
    "raw, expected",
    [("", "https://x.example"), ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
     ("https://sb.example/mirror", "https://sb.example/mirror")],
)  # fmt: skip
def test_urls_are_http_or_https(monkeypatch, errors, raw, expected):
    monkeypatch.setenv("SOME_API", raw)
    assert env.env_url("SOME_API", "https://x.example") == expected
    assert errors() == []


@pytest.mark.parametrize("raw", ["sponsor.ajay.app", "ftp://sb.example", "https://"])
def test_a_bad_url_keeps_the_default_and_is_reported(monkeypatch, errors, raw):
    monkeypatch.setenv("SOME_API", raw)
    assert env.env_url("SOME_API", "https://x.example") == "https://x.example"
    assert errors() == [f"SOME_API={raw!r} is not an http:// or https:// URL"]


def test_counts_are_name_equals_number_pairs(monkeypatch, errors):
    monkeypatch.setenv("SOME_CAPS", " YouTube.com=2, *=4 ")
    assert env.env_counts("SOME_CAPS") == {"youtube.com": 2, "*": 4}
    assert errors() == []
    monkeypatch.delenv("SOME_CAPS")
    assert env.env_counts("SOME_CAPS") == {}


@pytest.mark.parametrize("bad", ["youtube.com", "youtube.com=0", "=3", "vimeo.com=two"])
def test_a_bad_count_is_left_out_and_reported(monkeypatch, errors, bad):
    monkeypatch.setenv("SOME_CAPS", f"{bad},*=4")
    assert env.env_counts("SOME_CAPS") == {"*": 4}
    assert errors() == [f"SOME_CAPS holds {bad!r}, which is not a name=N pair with N at least 1"]


def test_every_bad_value_is_a_system_check_error(tmp_path):
    bad = {
        "ALLOW_PRIVATE_URLS": "perhaps",
        "REQUEST_LIMIT": "many",
        "MAX_FILESIZE": "huge",
        "STALE_TASK_TIMEOUT": "1",
    }
    checked = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ytdlphost.settings",
             "DATA_DIR": str(tmp_path), **bad},
    )  # fmt: skip
    assert checked.returncode != 0
    for message in (
        "ALLOW_PRIVATE_URLS='perhaps' is not a boolean (use true or false)",
        "REQUEST_LIMIT='many' is not a valid int",
        "MAX_FILESIZE='huge' is not a size like 500M or 2G",
        "STALE_TASK_TIMEOUT='1' must be at least 3.0",
    ):
        assert message in checked.stderr, checked.stderr
    assert "Traceback" not in checked.stderr


def test_importing_the_settings_creates_nothing(tmp_path):
    data_dir = tmp_path / "data"
    imported = subprocess.run(
        [sys.executable, "-c", "import ytdlphost.settings"], cwd=REPO, capture_output=True,
        text=True, env={**os.environ, "DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert not data_dir.exists()


def test_prepare_creates_the_state_owner_only_and_keeps_the_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DOWNLOAD_DIR", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    state.prepare()
    key = state.secret_key()
    state.prepare()  # a second start keeps it
    assert len(key) >= 50 and state.secret_key() == key
    assert (tmp_path / "data" / "downloads").is_dir()
    for path in (tmp_path / "data", tmp_path / "data" / "downloads"):
        assert path.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_processes_starting_at_once_agree_on_one_secret_key(tmp_path):
    script = "from ytdlphost import state; state.prepare(); print(state.secret_key())"
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    environment["DATA_DIR"] = str(tmp_path / "data")
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(6)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in starts}
    assert len(keys) == 1 and "" not in keys
