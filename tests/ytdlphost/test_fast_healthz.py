"""GET /healthz off Django's request cycle (ytdlphost/health.py, healthz_answer) runs the
same checks and answers exactly what the view answers.

Compared with the view through the real entry point, for every credential and request
shape, in tests/ytdlphost/test_fast_path_equivalence.py; here, what a unit shows."""

import shutil
from collections import namedtuple

import pytest

from tests.support.fast_answers import assert_same_answer
from ytdlphost import health
from ytdlphost.fast_path import FastRequest

pytestmark = pytest.mark.django_db

Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def steady_disk(monkeypatch):
    # Free space changes between two reads on a shared machine; both answers show it.
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**12, 10**11, 9 * 10**11))


def healthz_request(query_string: str) -> FastRequest:
    return FastRequest({}, {}, {}, query_string)


def test_a_failing_check_is_the_views_503(client, settings):
    settings.MIN_FREE_DISK = 10**13
    answer = health.healthz_answer(healthz_request("skip=workers"))
    assert answer.status == 503
    assert_same_answer(answer, client.get("/healthz?skip=workers"), "healthz")


def test_it_still_checks_the_database(monkeypatch):
    def unreachable():
        raise OSError("connection refused to db.internal:5432")

    monkeypatch.setitem(health.CHECKS, "database", unreachable)
    answer = health.healthz_answer(healthz_request("skip=workers"))
    assert answer.status == 503
    assert answer.json_body()["checks"]["database"] == {
        "ok": False, "error": "database unreachable"
    }  # fmt: skip
