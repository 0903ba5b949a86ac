"""Keys on the real stack: a deleted key stops working at once in every web process,
secrets never reach the logs, and one key cannot see another's tasks."""

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
