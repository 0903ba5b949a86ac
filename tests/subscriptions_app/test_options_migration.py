"""subscriptions_app 0002: the format columns of existing subscriptions become `options`."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from subscriptions_app.models import Subscription

BEFORE = [("subscriptions_app", "0001_initial")]
AFTER = [("subscriptions_app", "0002_subscription_preset_options")]


@pytest.fixture
def old_apps(transactional_db):
    """The models as 0001 left them; migrated forward to the latest after the test."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_formats_of_existing_subscriptions_become_their_options(old_apps, make_key):
    api_key, _ = make_key("old", ["subscribe", "get_video", "get_audio"])
    old = old_apps.get_model("subscriptions_app", "Subscription")
    for task_type, formats in (
        ("get_video", ("bestvideo[height<=720]", "bestaudio", "mkv")),
        ("get_audio", ("", "worstaudio", "")),
    ):
        old.objects.create(
            id=task_type, api_key_id=api_key.pk, url="http://127.0.0.1/feed", site="127.0.0.1",
            task_type=task_type, interval=3600, next_check_at=timezone.now(),
            **dict(zip(("video_format", "audio_format", "output_format"), formats, strict=True)),
        )  # fmt: skip
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    options = dict(Subscription.objects.values_list("id", "options"))
    assert options == {
        "get_video": {
            "video_format": "bestvideo[height<=720]", "audio_format": "bestaudio",
            "output_format": "mkv",
        },
        "get_audio": {"audio_format": "worstaudio"},
    }  # fmt: skip
