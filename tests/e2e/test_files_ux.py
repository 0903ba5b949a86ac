"""What a client sees of task files through the real stack: expired tasks answer 410."""

import time

import pytest
import requests

from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # 0.6 seconds: a finished task expires at once. The every-minute schedule may clean
    # up too; run_maintenance makes it happen now.
    env = {"TASK_CLEANUP_TIME": "0.01"}
    with LiveStack(tmp_path_factory.mktemp("files-ux"), env=env) as running:
        yield running


def test_an_expired_task_answers_410_after_maintenance(stack, progressive_url):
    key = stack.create_key("expiring", ["get_info"])
    status = stack.run(key, "/get_info", {"url": progressive_url})
    assert status["status"] == "completed", status
    time.sleep(1)
    assert "tasks_deleted: " in stack.manage("run_maintenance")
    status_url = f"{stack.base_url}/status/{status['task_id']}"
    gone = requests.get(status_url, headers={"X-API-Key": key}, timeout=10)
    assert gone.status_code == 410
    assert gone.json() == {
        "error": "Task expired: finished tasks are kept for 0.01 minutes (TASK_CLEANUP_TIME)"
    }
    assert requests.get(f"{stack.base_url}{status['file']}", timeout=10).status_code == 410
    other = stack.create_key("other", ["get_info"])
    assert requests.get(status_url, headers={"X-API-Key": other}, timeout=10).status_code == 404
