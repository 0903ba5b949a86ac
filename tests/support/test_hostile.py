"""The attack fixtures themselves: scripted answers on 127.0.0.2, a counting canary."""

import requests

from tests.support.hostile import Reply


def test_the_hostile_server_answers_what_a_test_scripts(hostile):
    url = hostile.route("/page", Reply("<html>hi</html>", headers={"X-Evil": "1"}))
    response = requests.get(url, timeout=5)
    assert url.startswith("http://127.0.0.2:")
    assert (response.status_code, response.text, response.headers["X-Evil"]) == (
        200, "<html>hi</html>", "1",
    )  # fmt: skip
    assert hostile.count("/page") == 1


def test_the_hostile_redirect_points_wherever_it_is_told(hostile, canary):
    url = hostile.redirect("/hop", canary.url("progressive.mp4"))
    before = canary.count("/progressive.mp4")
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert canary.count("/progressive.mp4") == before + 1
