"""A subscription on the real stack (gunicorn + two qclusters): a feed on 127.0.0.1 gains
entries; each is downloaded once however many clusters check it, and after a restart."""

import pytest
import requests

from tests.support.media_server import MediaServer
from tests.support.playlists import write_feed
from tests.support.processes import wait_until
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


def test_two_clusters_and_a_restart_download_each_new_entry_once(tmp_path_factory, progressive_url):
    directory = tmp_path_factory.mktemp("feed")
    episodes = []

    def publish(name):
        episodes.insert(0, (name, f"{progressive_url}?{name}"))
        write_feed(directory, "feed.rss", "A channel", episodes)

    publish("one")
    publish("two")
    with (
        MediaServer(directory) as feeds,
        LiveStack(tmp_path_factory.mktemp("stack"), clusters=2) as stack,
    ):
        key = stack.create_key("follower", ["subscribe", "get_video"])
        headers = {"X-API-Key": key}

        def call(method, path, **kwargs):
            return requests.request(
                method, f"{stack.base_url}{path}", headers=headers, timeout=30, **kwargs
            )

        created = call(
            "POST", "/subscriptions", json={"url": feeds.url("feed.rss"), "task_type": "get_video"}
        )
        assert created.status_code == 201, created.text
        subscription = created.json()["subscription_id"]

        def tasks():
            return call("GET", f"/tasks?subscription={subscription}").json()["tasks"]

        def checked_after(previous):
            body = call("GET", f"/subscriptions/{subscription}").json()
            return body if body["last_checked_at"] != previous and not body["checking"] else None

        def check_now_and_wait(times=1):
            before = call("GET", f"/subscriptions/{subscription}").json()["last_checked_at"]
            for _ in range(times):  # each a queue message: both clusters' workers may take one
                assert call("POST", f"/subscriptions/{subscription}/check").status_code == 202
            return wait_until(lambda: checked_after(before), 60, "the check never ran")

        publish("three")
        checked = check_now_and_wait(times=2)
        assert checked["counts"]["seen"] == 3 and checked["last_error"] is None
        [task] = tasks()
        assert task["url"] == f"{progressive_url}?three"
        assert stack.wait_for(task["task_id"], key)["status"] == "completed"

        stack.stop()
        stack.start()
        checked = check_now_and_wait()
        assert checked["counts"]["downloaded"] == 1
        assert [t["task_id"] for t in tasks()] == [task["task_id"]]
