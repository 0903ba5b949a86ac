"""Keys on the real stack: a deleted key stops working at once in every web process,
secrets never reach the logs, one key cannot see another's tasks, a key that sees
another's tasks acts only on those of keys it covers, and a request naming two keys is
refused."""

import http.client
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Four web processes, so consecutive requests land on different ones; DEBUG logging
    # so that anything a secret could leak into is written.
    env = {"LOG_LEVEL": "DEBUG"}
    with LiveStack(tmp_path_factory.mktemp("security"), web_workers=4, env=env) as running:
        yield running


def admin_call(stack, method, path, **kwargs):
    return requests.request(
        method, f"{stack.base_url}{path}", headers={"X-API-Key": stack.admin_key},
        timeout=10, **kwargs,
    )  # fmt: skip


def test_a_deleted_key_stops_working_at_once_in_every_web_process(stack):
    secret = stack.create_key("doomed", ["get_info"])
    session = requests.Session()  # keep-alive: also reuses a connection to one process
    check = {"json": {"permissions": ["get_info"]}, "headers": {"X-API-Key": secret}}
    for _ in range(20):
        assert session.post(f"{stack.base_url}/check_permissions", **check).status_code == 200
    assert admin_call(stack, "DELETE", "/delete_key/doomed").status_code == 200
    codes = {
        requests.post(f"{stack.base_url}/check_permissions", timeout=10, **check).status_code
        for _ in range(40)
    }
    codes |= {session.post(f"{stack.base_url}/check_permissions", **check).status_code}
    assert codes == {401}


def test_one_key_cannot_see_or_fetch_the_tasks_of_another(stack, progressive_url):
    owner = stack.create_key("owner", ["get_info"])
    other = stack.create_key("other", ["get_info"])
    task_id = requests.post(
        f"{stack.base_url}/get_info", json={"url": progressive_url},
        headers={"X-API-Key": owner}, timeout=10,
    ).json()["task_id"]  # fmt: skip
    stack.wait_for(task_id, owner)
    response = requests.get(
        f"{stack.base_url}/status/{task_id}", headers={"X-API-Key": other}, timeout=10
    )
    assert response.status_code == 404
    assert response.json() == {"error": "Task not found"}


def test_no_secret_is_ever_written_to_the_logs(stack, progressive_url):
    created = stack.create_key("quiet", ["get_info"])
    admin_call(stack, "GET", "/get_keys")
    admin_call(stack, "GET", "/get_key/quiet")
    requests.post(f"{stack.base_url}/get_info", json={"url": "ftp://x"},
                  headers={"X-API-Key": created}, timeout=10)  # fmt: skip
    requests.post(f"{stack.base_url}/get_info", json={"url": progressive_url},
                  headers={"X-API-Key": created + "wrong"}, timeout=10)  # fmt: skip
    log = stack.log_path.read_text()
    assert "DEBUG" in log or "INFO" in log  # the logs were written at all
    assert stack.admin_key not in log
    assert created not in log


def test_a_get_keys_key_cannot_cancel_retry_or_delete_the_admins_tasks(stack, progressive_url):
    watcher = stack.create_key("watcher", ["get_keys"])
    task_id = admin_call(stack, "POST", "/get_info", json={"url": progressive_url}).json()[
        "task_id"
    ]
    stack.wait_for(task_id, stack.admin_key)
    status_url = f"{stack.base_url}/status/{task_id}"
    assert requests.get(status_url, headers={"X-API-Key": watcher}, timeout=10).ok  # it sees
    for method, action in (("POST", "cancel"), ("POST", "retry"), ("DELETE", "delete_task")):
        response = requests.request(
            method, f"{stack.base_url}/{action}/{task_id}", headers={"X-API-Key": watcher},
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 403, (action, response.text)
    assert admin_call(stack, "GET", f"/status/{task_id}").json()["status"] == "completed"


def raw_request(stack, method: str, path: str, headers: list[tuple[str, str]]):
    """(status, body) of a request whose headers are sent exactly as given, repeated
    names included (requests would merge them)."""
    url = urlsplit(stack.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.putrequest(method, path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("second_name", ["X-API-Key", "X_API_KEY"])
def test_two_api_keys_in_one_request_are_refused_on_every_route(
    stack, second_name, progressive_url
):
    # A task the second key sees: its /status would be the fast route's 200.
    task_id = admin_call(stack, "POST", "/get_info", json={"url": progressive_url}).json()[
        "task_id"
    ]
    headers = [("X-API-Key", "not-a-key"), (second_name, stack.admin_key)]
    refused = (400, b'{"error": "Send one X-API-Key header"}')
    for path in (f"/status/{task_id}", "/tasks", "/healthz?skip=workers", "/me", "/get_keys"):
        assert raw_request(stack, "GET", path, headers) == refused, path
