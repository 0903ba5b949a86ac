"""/subscriptions: who may subscribe, what is refused, and the resource's own endpoints."""

import pytest

from downloads_app.models import Task

pytestmark = pytest.mark.django_db


def test_subscribing_needs_subscribe_and_the_permission_of_the_task_type(
    feed, make_key, client_for
):
    feed.show("b", "a")
    _, video_only = make_key("video_only", ["get_video"])
    response = client_for(video_only).post(
        "/subscriptions", {"url": feed.url, "task_type": "get_video"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"error": "Insufficient permissions: needs subscribe"}
    _, subscriber = make_key("no_audio", ["subscribe", "get_video"])
    response = client_for(subscriber).post(
        "/subscriptions", {"url": feed.url, "task_type": "get_audio"}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"error": "Insufficient permissions: needs get_audio"}


def test_a_url_that_lists_nothing_is_refused_saying_why(
    subscriber_client, progressive_url, media_server
):
    for url, reason in (
        (progressive_url, "The URL is a single video, not a playlist"),
        (media_server.url("no-such-feed.rss"), "nothing to subscribe to"),
    ):
        response = subscriber_client.post(
            "/subscriptions", {"url": url, "task_type": "get_video"}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"].startswith("url: nothing to subscribe to: ")
        assert reason in response.json()["error"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"interval": 5}, "must be at least"),
        ({"task_type": "get_info"}, "is not a valid choice"),
        ({"task_type": "get_audio", "video_format": "bestvideo"}, "Unknown fields: video_format"),
        ({"output_format": "mp3"}, "must be one of"),
        ({"audio_format": "best[height~=x]"}, "regular-expression"),
        ({"backfill": -1}, "greater than or equal to 0"),
        ({"colour": "blue"}, "Unknown fields: colour"),
    ],
)
def test_bad_fields_are_refused_before_anything_is_listed(
    subscriber_client, feed, fields, error, make_key, client_for
):
    _, secret = make_key("both", ["subscribe", "get_video", "get_audio"])
    body = {"url": feed.url, "task_type": "get_video", **fields}
    response = client_for(secret).post("/subscriptions", body, format="json")
    assert response.status_code == 400
    assert error in str(response.json()["error"])


def test_the_body_shows_the_options_and_the_defaults(feed, subscribe, settings):
    feed.show("b", "a")
    body = subscribe(feed.url, output_format="mkv")
    assert body["interval"] == settings.SUBSCRIPTION_DEFAULT_INTERVAL
    assert (body["video_format"], body["audio_format"], body["output_format"]) == (
        "bestvideo", "bestaudio", "mkv",
    )  # fmt: skip
    assert (body["paused"], body["checking"], body["webhook_url"]) == (False, False, "")


def test_a_key_lists_its_own_subscriptions_in_pages(
    feed, subscribe, subscriber_client, make_key, client_for
):
    feed.show("b", "a")
    first, second = subscribe(feed.url), subscribe(feed.url)
    _, other = make_key("other", ["subscribe", "get_video"])
    subscribe(feed.url, client=client_for(other))
    page = subscriber_client.get("/subscriptions?limit=1").json()
    assert [s["subscription_id"] for s in page["subscriptions"]] == [second["subscription_id"]]
    rest = subscriber_client.get(f"/subscriptions?limit=1&cursor={page['next']}").json()
    assert [s["subscription_id"] for s in rest["subscriptions"]] == [first["subscription_id"]]
    assert rest["next"] is None
    assert client_for(other).get(f"/subscriptions/{first['subscription_id']}").status_code == 404


def test_it_changes_pauses_and_resumes(feed, subscribe, subscriber_client, settings):
    feed.show("b", "a")
    body = subscribe(feed.url)
    url = f"/subscriptions/{body['subscription_id']}"
    interval = settings.SUBSCRIPTION_MIN_INTERVAL
    changed = subscriber_client.patch(
        url, {"interval": interval, "audio_format": "worstaudio", "paused": True}, format="json"
    ).json()
    assert (changed["interval"], changed["audio_format"], changed["paused"]) == (
        interval, "worstaudio", True,
    )  # fmt: skip
    assert subscriber_client.post(f"{url}/check").status_code == 409
    bad = subscriber_client.patch(url, {"output_format": "mp3"}, format="json")
    assert bad.status_code == 400
    resumed = subscriber_client.patch(url, {"paused": False}, format="json").json()
    assert resumed["paused"] is False and resumed["paused_reason"] == ""


def test_check_now_checks_it_at_once(
    feed, subscribe, subscriber_client, queued, django_capture_on_commit_callbacks
):
    feed.show("b", "a")
    body = subscribe(feed.url)
    feed.publish("c")
    with django_capture_on_commit_callbacks(execute=True):  # the check runs (sync django-q2)
        response = subscriber_client.post(f"/subscriptions/{body['subscription_id']}/check")
    assert response.status_code == 202
    assert Task.objects.filter(subscription_id=body["subscription_id"]).count() == 1


def test_deleting_it_leaves_its_tasks_to_their_own_cleanup(
    feed, subscribe, subscriber_client, queued
):
    feed.show("b", "a")
    body = subscribe(feed.url, backfill=1)
    [task] = Task.objects.filter(subscription_id=body["subscription_id"])
    response = subscriber_client.delete(f"/subscriptions/{body['subscription_id']}")
    assert response.json() == {
        "message": "Subscription deleted", "subscription_id": body["subscription_id"],
    }  # fmt: skip
    task.refresh_from_db()
    assert task.subscription_id is None
    assert subscriber_client.get(f"/subscriptions/{body['subscription_id']}").status_code == 404


def test_the_schema_describes_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/subscriptions"])
    assert {"get", "patch", "delete"} <= set(paths["/subscriptions/{subscription_id}"])
    assert "post" in paths["/subscriptions/{subscription_id}/check"]
