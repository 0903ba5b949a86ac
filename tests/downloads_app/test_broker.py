"""The ORM broker's wake-up: a task queued on this host wakes the idle pusher."""

import os
import select

import pytest
from django.test import override_settings

from downloads_app.broker import WakingORM, wake_up_pipe


@pytest.fixture
def data_dir(tmp_path):
    with override_settings(DATA_DIR=tmp_path):
        yield tmp_path


def pending_wake_up(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


@pytest.mark.django_db
def test_a_task_queued_on_this_host_wakes_the_listening_pusher(data_dir):
    pusher = WakingORM(list_key="wake-up-test")
    listening = pusher._listen()
    assert listening is not None
    assert not pending_wake_up(listening)

    package_id = WakingORM(list_key="wake-up-test").enqueue("payload")

    assert pending_wake_up(listening)
    assert pusher.dequeue() == [(package_id, "payload")]
    assert not pending_wake_up(listening)  # drained by the look


@pytest.mark.django_db
def test_queueing_with_no_pusher_listening_still_queues(data_dir):
    package_id = WakingORM(list_key="wake-up-test").enqueue("payload")

    assert not wake_up_pipe().exists()
    assert WakingORM(list_key="wake-up-test").dequeue() == [(package_id, "payload")]


@pytest.mark.django_db
def test_a_pusher_without_a_pipe_polls(data_dir):
    wake_up_pipe().write_text("not a pipe")  # e.g. a filesystem without named pipes
    pusher = WakingORM(list_key="wake-up-test")
    package_id = WakingORM(list_key="wake-up-test").enqueue("payload")

    assert pusher._listen() is None
    assert pusher.dequeue() == [(package_id, "payload")]
    assert wake_up_pipe().read_text() == "not a pipe"


@pytest.mark.django_db
def test_the_pipe_is_private_to_the_service(data_dir):
    WakingORM()._listen()

    assert oct(os.stat(wake_up_pipe()).st_mode & 0o777) == "0o600"
