"""What the service must not give away, attacked on the real stack (issue 8): the
operator's cookies, unbounded /metrics labels, task ids in the access log, cacheable
capability URLs, files readable by other users of the machine, and internal details in
the keyless /healthz.
"""

import os
import random
import re
import stat
import string
import subprocess
import sys

import pytest
import requests

from tests.support.hostile import HOSTILE_HOST, Reply, attack_env
from tests.support.stack import REPO, LiveStack, free_port

pytestmark = pytest.mark.e2e

VICTIM_SECRET = "victim-session-5f1d3a"
HOSTILE_SECRET = "hostile-session-9c2b7e"
# The operator's jar (Netscape format): a session on a site the attacker targets, and one
# on the attacker's own host. Neither value may be published.
OPERATOR_COOKIES = (
    "# Netscape HTTP Cookie File\n"
    f"victim.invalid\tFALSE\t/\tFALSE\t0\tsession\t{VICTIM_SECRET}\n"
    f"{HOSTILE_HOST}\tFALSE\t/\tFALSE\t0\thostsess\t{HOSTILE_SECRET}\n"
)
# The attacker's page names the victim's URL as its video source, so yt-dlp computes the
# victim-domain cookies for that format.
PAGE = (
    "<html><head><title>bait</title></head><body>"
    '<video src="http://victim.invalid/v.mp4"></video></body></html>'
)


def page_setting_cookies(count: int) -> Reply:
    """The page, with `count` Set-Cookie headers of about 1 KB each (http.client accepts
    at most 100 headers)."""
    body = PAGE.encode()

    def write(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        for index in range(count):
            handler.send_header("Set-Cookie", f"flood{index}={'x' * 1000}; Path=/")
        handler.end_headers()
        handler.wfile.write(body)

    return Reply(body=write)


@pytest.fixture(scope="module")
def cookies_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("operator") / "cookies.txt"
    path.write_text(OPERATOR_COOKIES)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory, cookies_file):
    env = attack_env(YTDLP_COOKIES_FILE=str(cookies_file), METRICS_ENABLED="true")
    with LiveStack(tmp_path_factory.mktemp("leaks"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("prober", ["get_info"])


@pytest.fixture(scope="module")
def info_task(stack, key, hostile):
    """A completed get_info of the attacker's page (it also floods the jar)."""
    url = hostile.route("/bait", page_setting_cookies(60))
    task_id = requests.post(
        f"{stack.base_url}/get_info", json={"url": url}, headers={"X-API-Key": key}, timeout=10
    ).json()["task_id"]
    status = stack.wait_for(task_id, key, timeout=60)
    assert status["status"] == "completed", status
    return task_id


def files_url(stack, task_id):
    return f"{stack.base_url}/files/{task_id}/info.json"


def test_info_json_carries_no_cookie_of_the_operator(stack, info_task, hostile):
    # The jar was in use: the attacker's host received its own cookie with the page.
    sent = [headers.get("Cookie", "") for path, headers in hostile.request_headers]
    assert any(HOSTILE_SECRET in cookie for cookie in sent)
    on_disk = (stack.data_dir / "downloads" / info_task / "info.json").read_text()
    served = requests.get(files_url(stack, info_task), timeout=10)
    assert served.status_code == 200 and "victim.invalid" in served.text
    for text in (on_disk, served.text):
        assert VICTIM_SECRET not in text and HOSTILE_SECRET not in text
        assert '"cookies"' not in text


def test_a_hostile_site_cannot_change_the_operators_cookie_jar(
    stack, key, info_task, hostile, cookies_file
):
    assert cookies_file.read_text() == OPERATOR_COOKIES
    # Nor does what it set reach the next task: each task starts from the operator's jar.
    url = hostile.route("/again", Reply(PAGE))
    task_id = requests.post(
        f"{stack.base_url}/get_info", json={"url": url}, headers={"X-API-Key": key}, timeout=10
    ).json()["task_id"]
    assert stack.wait_for(task_id, key, timeout=60)["status"] == "completed"
    cookies = [headers.get("Cookie", "") for path, headers in hostile.request_headers]
    assert cookies[-1] and "flood" not in cookies[-1]
    assert cookies_file.read_text() == OPERATOR_COOKIES


def test_files_are_never_kept_by_caches(stack, info_task):
    found = requests.get(files_url(stack, info_task), timeout=10)
    missing = requests.get(f"{stack.base_url}/files/{info_task}/other.json", timeout=10)
    for response in (found, missing):
        directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives


def test_task_ids_stay_out_of_the_access_log(stack, key, info_task):
    for _ in range(3):
        requests.get(f"{stack.base_url}/status/{info_task}", headers={"X-API-Key": key}, timeout=10)
        requests.get(files_url(stack, info_task), timeout=10)
        requests.get(f"{files_url(stack, info_task)}?title", timeout=10)
    logs = {path: path.read_text() for path in stack.data_dir.glob("*.log")}
    assert any(f"/status/{info_task[:4]}" in text for text in logs.values())  # logged, cut
    assert all(info_task not in text for text in logs.values())


def test_metrics_labels_stay_few_whatever_methods_and_paths_are_sent(stack):
    rng = random.Random(8)
    session = requests.Session()
    for _ in range(500):
        method = "".join(rng.choices(string.ascii_uppercase, k=8))
        path = "/" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=12))
        session.request(method, f"{stack.base_url}{path}", timeout=10)
    text = requests.get(f"{stack.base_url}/metrics", timeout=10).text
    methods = set(re.findall(r'ytdlphost_http_requests_total\{method="([^"]*)"', text))
    routes = set(re.findall(r'ytdlphost_http_requests_total\{[^}]*route="([^"]*)"', text))
    assert len(methods) <= 8 and len(routes) <= 12, (methods, routes)
    assert len(text) < 100_000


def test_the_stacks_files_are_readable_by_its_user_only(stack, info_task):
    created = [
        stack.data_dir / "downloads",
        stack.data_dir / "db.sqlite3",
        stack.data_dir / "db.sqlite3-wal",
        stack.data_dir / "db.sqlite3-shm",
        stack.data_dir / "downloads" / info_task,
        stack.data_dir / "downloads" / info_task / "info.json",
    ]
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in created}
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_a_fresh_data_dir_is_created_owner_only(tmp_path):
    data_dir = tmp_path / "fresh"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ytdlphost.settings", "DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "downloads").stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "db.sqlite3").stat().st_mode) == 0o600


def test_healthz_tells_nothing_of_the_internal_network(tmp_path):
    closed_port = free_port()  # nothing listens there
    env = {"REDIS_URL": f"redis://127.0.0.1:{closed_port}/0"}
    with LiveStack(tmp_path / "data", env=env, web_workers=1, clusters=0) as running:
        response = requests.get(f"{running.base_url}/healthz", timeout=30)
        log = running.log_path.read_text()
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {"ok": False, "error": "queue broker unreachable"}
    assert str(closed_port) not in response.text and "127.0.0.1" not in response.text
    assert "Error" not in response.text
    assert str(closed_port) in log  # the operator still learns what failed
