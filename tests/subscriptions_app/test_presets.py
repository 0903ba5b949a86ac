"""A subscription's `preset` and request fields: checked as a request of its task type at
subscribing and changing, and applied to each task it starts as a request's are. The
tasks are queued, not run."""

import pytest
from django.utils import timezone

from downloads_app.models import Preset, Task
from subscriptions_app.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def hd(db):
    made = Preset(
        name="HD", task_type="get_video",
        options={"video_format": "bestvideo[height<=1080]", "output_format": "mp4"},
    )  # fmt: skip
    made.full_clean()
    made.save()
    return made


@pytest.fixture
def subscription(subscriber, feed):
    """subscription(**fields): one of the subscriber's, made without listing its URL."""

    def make(**fields):
        return Subscription.objects.create(
            api_key=subscriber[0], url=feed.url, site="127.0.0.1", task_type="get_video",
            interval=3600, next_check_at=timezone.now(), **fields,
        )  # fmt: skip

    return make


def test_a_subscription_with_a_preset_starts_tasks_with_its_fields_under_its_own(
    feed, subscribe, check, queued, hd, subscriber_client
):
    feed.show("one")
    body = subscribe(feed.url, preset="HD", audio_format="worstaudio", backfill=1)
    assert (body["preset"], body["options"]) == ("HD", {"audio_format": "worstaudio"})
    assert (body["video_format"], body["audio_format"], body["output_format"]) == (
        "bestvideo[height<=1080]", "worstaudio", "mp4",
    )  # fmt: skip
    [task] = Task.objects.filter(subscription_id=body["subscription_id"])
    assert (task.video_format, task.audio_format, task.output_format, task.preset) == (
        "bestvideo[height<=1080]", "worstaudio", "mp4", "HD",
    )  # fmt: skip
    assert subscriber_client.get(f"/status/{task.id}").json()["preset"] == "HD"
    # The preset changed: the next tasks follow it; the subscription's own field still wins.
    hd.options = {**hd.options, "output_format": "mkv", "audio_format": "bestaudio"}
    hd.save()
    feed.publish("two")
    check(body["subscription_id"])
    newest = Task.objects.filter(subscription_id=body["subscription_id"]).latest("created_at")
    assert (newest.output_format, newest.audio_format) == ("mkv", "worstaudio")


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"preset": "Nothing"}, 400, "preset: no preset named 'Nothing'"),
        ({"preset": "Talk"}, 400, "preset: 'Talk' is a preset of get_audio, not of get_video"),
        ({"preset": "Shelf"}, 403, "the preset 'Shelf' needs library"),
        ({"preset": "HD", "output_format": "mp3"}, 400, "output_format: must be one of"),
        ({"preset": "HD", "colour": "blue"}, 400, "Unknown fields: colour"),
    ],
)
def test_a_bad_preset_or_field_is_refused_before_anything_is_listed(
    subscriber_client, feed, hd, fields, status, error
):
    Preset.objects.create(name="Talk", task_type="get_audio")
    Preset.objects.create(name="Shelf", task_type="get_video", options={"library": True})
    body = {"url": feed.url, "task_type": "get_video", **fields}
    response = subscriber_client.post("/subscriptions", body, format="json")
    assert response.status_code == status
    assert error in response.json()["error"]
    assert not Subscription.objects.exists()


def test_a_change_sets_fields_over_its_options_and_drops_the_preset_on_null(
    subscription, subscriber_client, hd
):
    url = f"/subscriptions/{subscription(options={'output_format': 'webm'}).id}"
    changed = subscriber_client.patch(url, {"preset": "HD"}, format="json").json()
    assert (changed["preset"], changed["options"]) == ("HD", {"output_format": "webm"})
    assert (changed["video_format"], changed["output_format"]) == (
        "bestvideo[height<=1080]", "webm",
    )  # fmt: skip
    changed = subscriber_client.patch(url, {"output_format": None}, format="json").json()
    assert (changed["options"], changed["output_format"]) == ({}, "mp4")  # the preset's
    dropped = subscriber_client.patch(url, {"preset": None}, format="json").json()
    assert (dropped["preset"], dropped["video_format"], dropped["output_format"]) == (
        None, "bestvideo", None,
    )  # fmt: skip
    refused = subscriber_client.patch(url, {"preset": "Nothing"}, format="json")
    assert refused.status_code == 400 and "no preset named 'Nothing'" in refused.json()["error"]


def test_a_check_whose_preset_is_gone_lists_nothing_starts_nothing_and_says_why(
    subscription, check, queued, hd, monkeypatch
):
    made = subscription(preset="HD")
    hd.delete()
    monkeypatch.setattr("subscriptions_app.checks.listing_of", None)  # never called
    made = check(made.id)
    assert "no preset named 'HD'" in made.last_error
    assert made.last_error_code == "invalid_request" and made.failed_checks == 1
    assert not Task.objects.filter(subscription_id=made.id).exists()
