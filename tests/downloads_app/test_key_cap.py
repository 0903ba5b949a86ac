"""MAX_TASKS_PER_KEY: how many tasks of one key run at once (task_claim), and how a task
left waiting for its key's cap starts when a slot frees (dispatch_next_waiting). A webhook
attempt under way takes a slot too."""

import pytest
from django.utils import timezone

from downloads_app import lifecycle, maintenance, slots, webhooks
from downloads_app.models import Task, WebhookDelivery
from tests.support.claims import claim_at_once, slowed

pytestmark = pytest.mark.django_db


def waiting_task(api_key):
    return Task.objects.create(api_key=api_key, task_type="get_info", url="http://e.com/v")


def due_delivery(api_key):
    return WebhookDelivery.objects.create(
        api_key=api_key, task_id="t", event_type="task.completed", url="http://e.com/hook",
        payload="{}", next_attempt_at=timezone.now(),
    )  # fmt: skip


def test_a_claim_beyond_the_keys_cap_leaves_the_task_waiting(user, settings):
    settings.MAX_TASKS_PER_KEY = 1
    first, second = waiting_task(user[0]), waiting_task(user[0])
    assert lifecycle.task_claim(first.id).status == "processing"
    assert lifecycle.task_claim(second.id) is None
    second.refresh_from_db()
    assert (second.status, second.attempts, second.worker) == ("waiting", 0, "")


def test_the_cap_of_one_key_does_not_hold_back_another(user, make_key, settings):
    settings.MAX_TASKS_PER_KEY = 1
    other_key, _ = make_key("other", ["get_info"])
    lifecycle.task_claim(waiting_task(user[0]).id)
    assert lifecycle.task_claim(waiting_task(other_key).id).status == "processing"


def test_a_key_runs_as_many_tasks_as_its_cap(user, settings):
    settings.MAX_TASKS_PER_KEY = 2
    tasks = [waiting_task(user[0]) for _ in range(3)]
    claimed = [lifecycle.task_claim(task.id) for task in tasks]
    assert [task is not None for task in claimed] == [True, True, False]


def test_when_a_task_ends_the_keys_oldest_deferred_task_is_queued(user, settings, queued):
    settings.MAX_TASKS_PER_KEY = 2
    running = [lifecycle.task_claim(waiting_task(user[0]).id) for _ in range(2)]
    deferred = [waiting_task(user[0]) for _ in range(3)]
    assert [lifecycle.task_claim(task.id) for task in deferred] == [None, None, None]
    assert lifecycle.dispatch_next_waiting(user[0].id) == 0  # no free slot yet
    lifecycle.task_finish(running[0], "completed", file_name="info.json")
    assert lifecycle.dispatch_next_waiting(user[0].id) == 1
    assert queued == [deferred[0].id]
    assert lifecycle.task_claim(deferred[0].id).status == "processing"


def test_a_waiting_task_whose_message_is_still_queued_is_not_sent_twice(user, settings, queued):
    settings.MAX_TASKS_PER_KEY = 1
    running = lifecycle.task_claim(waiting_task(user[0]).id)
    waiting_task(user[0])  # its message is in the queue: no worker has taken it yet
    lifecycle.task_finish(running, "completed", file_name="info.json")
    assert lifecycle.dispatch_next_waiting(user[0].id) == 0
    assert queued == []


def test_a_task_failed_by_recovery_frees_its_keys_slot(user, settings, queued):
    from datetime import timedelta

    from django.utils import timezone

    settings.MAX_TASKS_PER_KEY = 1
    stuck = lifecycle.task_claim(waiting_task(user[0]).id)
    deferred = waiting_task(user[0])
    assert lifecycle.task_claim(deferred.id) is None
    # Its worker died on another machine, for the second time.
    Task.objects.filter(pk=stuck.pk).update(
        worker="elsewhere:1", attempts=2, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    maintenance.task_recover_interrupted()
    assert queued == [deferred.id]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_key_never_exceed_its_cap(user, settings, monkeypatch):
    settings.MAX_TASKS_PER_KEY = 1
    slowed(monkeypatch, slots, "running_count")
    claimed = claim_at_once([waiting_task(user[0]).id for _ in range(6)])
    assert len([task for task in claimed if task is not None]) == 1
    assert Task.objects.filter(status="processing").count() == 1


def test_a_webhook_attempt_under_way_takes_one_of_its_keys_slots(user, make_key, settings):
    settings.MAX_TASKS_PER_KEY = 1
    other_key, _ = make_key("other", ["get_info"])
    assert webhooks._claim(due_delivery(user[0]).id) is not None
    assert lifecycle.task_claim(waiting_task(user[0]).id) is None
    assert lifecycle.task_claim(waiting_task(other_key).id).status == "processing"


def test_a_delivery_deferred_for_its_keys_cap_is_queued_when_a_slot_frees(
    user, settings, queued, monkeypatch
):
    settings.MAX_TASKS_PER_KEY = 1
    sent = []
    monkeypatch.setattr(
        "downloads_app.webhook_events.async_task",
        lambda func, delivery_id, **kw: sent.append(delivery_id),
    )
    running = lifecycle.task_claim(waiting_task(user[0]).id)
    delivery = due_delivery(user[0])
    assert webhooks._claim(delivery.id) is None  # the key's one slot is taken
    deferred_task = waiting_task(user[0])
    assert lifecycle.task_claim(deferred_task.id) is None
    lifecycle.task_finish(running, "completed", file_name="info.json")
    assert lifecycle.dispatch_next_waiting(user[0].id) == 1
    assert sent == [delivery.id]  # the delivery first; the task at the next free slot
    assert queued == []
