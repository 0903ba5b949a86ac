"""Recovery of tasks whose worker died (task_recover_interrupted), in-process."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from downloads_app import directories, heartbeat, lifecycle, maintenance, processes, runner
from downloads_app.models import Task, TaskStatus

pytestmark = pytest.mark.django_db


# A worker of a host this one cannot look into: only its heartbeat tells.
ELSEWHERE = "elsewhere/0123456789ab.4026531836:123"


def interrupted_task(api_key, attempts=1, started_ago=60, heartbeat_ago=600, worker=ELSEWHERE):
    now = timezone.now()
    task = Task.objects.create(
        api_key=api_key, task_type="get_video", url="http://e.com/v", status="processing",
        attempts=attempts, started_at=now - timedelta(seconds=started_ago),
        heartbeat_at=now - timedelta(seconds=heartbeat_ago), worker=worker,
    )  # fmt: skip
    partial = directories.work_dir(task)
    partial.mkdir(parents=True)
    (partial / "download.mp4.part").write_bytes(b"half")
    return task


def work_dirs(task) -> list[str]:
    directory = settings.DOWNLOAD_DIR / task.id
    return [entry.name for entry in directory.iterdir() if entry.name.startswith(".partial")]


def dead_worker_of_this_host() -> str:
    """The name of a worker of this host that is gone: a process that has exited."""
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return f"{processes.this_host()}:{process.pid}"


def test_an_interrupted_task_is_queued_again_once_without_its_partial_files(user, queued):
    task = interrupted_task(user[0], attempts=1)
    assert maintenance.task_recover_interrupted()["requeued"] == 1
    task.refresh_from_db()
    assert task.status == "waiting"
    assert queued == [task.id]
    assert work_dirs(task) == []


def test_a_task_interrupted_twice_ends_as_error(user, queued):
    task = interrupted_task(user[0], attempts=2)
    maintenance.task_recover_interrupted()
    task.refresh_from_db()
    assert task.status == "error"
    assert "interrupted" in task.error
    assert task.error_code == "interrupted"
    assert task.finished_at is not None
    assert queued == []


def test_a_task_past_its_time_limit_ends_as_error(user, queued, settings):
    settings.TASK_TIME_LIMIT = 100
    task = interrupted_task(user[0], attempts=1, started_ago=500)
    maintenance.task_recover_interrupted()
    task.refresh_from_db()
    assert task.status == "error"
    assert "time limit of 100 seconds" in task.error
    assert task.error_code == "timeout"


def test_a_task_with_a_recent_heartbeat_is_left_alone(user, queued):
    task = interrupted_task(user[0], heartbeat_ago=5)
    maintenance.task_recover_interrupted()
    task.refresh_from_db()
    assert task.status == "processing"
    assert work_dirs(task) == [".partial-1"]


def test_a_task_whose_worker_died_on_this_host_is_recovered_at_once(user, queued):
    # Its heartbeat is fresh, but the process it names is gone: no need to wait.
    task = interrupted_task(user[0], heartbeat_ago=0, worker=dead_worker_of_this_host())
    assert maintenance.task_recover_interrupted()["requeued"] == 1
    task.refresh_from_db()
    assert (task.status, task.worker, task.heartbeat_at) == ("waiting", "", None)
    assert queued == [task.id]
    assert work_dirs(task) == []


def test_a_task_of_another_host_waits_for_its_heartbeat_to_go_stale(user, queued, settings):
    task = interrupted_task(user[0], heartbeat_ago=settings.STALE_TASK_TIMEOUT - 2)
    assert maintenance.task_recover_interrupted()["requeued"] == 0
    Task.objects.filter(pk=task.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.STALE_TASK_TIMEOUT + 1)
    )
    assert maintenance.task_recover_interrupted()["requeued"] == 1
    assert queued == [task.id]


def test_the_heartbeat_is_at_most_five_seconds_and_a_third_of_the_timeout(settings):
    assert settings.STALE_TASK_TIMEOUT == 30  # the default
    assert heartbeat.heartbeat_interval() == 5
    settings.STALE_TASK_TIMEOUT = 6
    assert heartbeat.heartbeat_interval() == 2


def test_an_interrupted_task_is_taken_by_one_recovery_only(user):
    task = interrupted_task(user[0])
    now = timezone.now()
    assert maintenance._take_interrupted(task, now) is not None
    assert maintenance._take_interrupted(task, now) is None  # a second cluster, same view


def test_a_listed_playlist_waiting_for_its_entries_is_not_taken_for_interrupted(user, queued):
    task = interrupted_task(user[0], worker=dead_worker_of_this_host())
    Task.objects.filter(pk=task.pk).update(
        task_type="get_playlist", expanded_at=timezone.now(), heartbeat_at=None
    )
    assert maintenance.task_recover_interrupted() == {"requeued": 0, "failed": 0}
    task.refresh_from_db()
    assert task.status == "processing"


def test_a_worker_whose_task_was_recovered_stops_and_cannot_beat_or_finish_it(user, queued):
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    run = lifecycle.task_claim(task.id)
    assert heartbeat.stop_request(run) is None
    # Its worker, on another host, stopped beating (a network cut, a paused machine):
    # a cluster elsewhere took the task back.
    Task.objects.filter(pk=task.pk).update(
        worker=ELSEWHERE, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    run.worker = ELSEWHERE
    assert maintenance.task_recover_interrupted()["requeued"] == 1
    second_run = lifecycle.task_claim(task.id)
    assert directories.work_dir(second_run) != directories.work_dir(run)
    # The old worker comes back: its next stop check ends its work...
    assert heartbeat.stop_request(run) == heartbeat.STOP
    # ...its late beat does not refresh the new run's heartbeat, its result is discarded.
    Task.objects.filter(pk=task.pk).update(heartbeat_at=None)
    heartbeat.record_heartbeat(run)
    assert Task.objects.get(pk=task.pk).heartbeat_at is None
    assert lifecycle.task_finish(run, TaskStatus.COMPLETED, file_name="info.json") is False
    assert heartbeat.stop_request(second_run) is None


def test_a_waiting_task_whose_queue_message_may_be_lost_is_queued_again(user, queued):
    old = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    fresh = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    Task.objects.filter(pk=old.pk).update(
        queued_at=timezone.now() - maintenance.REQUEUE_AFTER - timedelta(seconds=1)
    )
    Task.objects.filter(pk=fresh.pk).update(queued_at=timezone.now())
    assert maintenance.requeue_lost_messages()["requeued_lost"] == 1
    assert queued == [old.id]


def test_a_duplicate_delivery_does_not_run_a_task_twice(user):
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    assert lifecycle.task_claim(task.id) is not None
    assert lifecycle.task_claim(task.id) is None
    task.refresh_from_db()
    assert task.attempts == 1


def test_a_stale_task_whose_worker_lives_on_this_host_is_left_alone(user, queued):
    # Its worker is this very process: alive, so the task is slow, not abandoned.
    task = interrupted_task(user[0], started_ago=0)
    Task.objects.filter(pk=task.pk).update(worker=processes.worker_name())
    maintenance.task_recover_interrupted()
    task.refresh_from_db()
    assert task.status == "processing"
    assert queued == []


def test_recovery_kills_what_a_dead_worker_left_running(user, queued):
    import subprocess

    from downloads_app import processes

    task = interrupted_task(user[0])
    # Stands for the ffmpeg of a killed worker: it carries the task's marker.
    orphan = subprocess.Popen(
        ["sleep", "30"], env={"PATH": "/usr/bin:/bin", processes.TASK_MARKER: task.id}
    )
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        maintenance.task_recover_interrupted()
        assert orphan.wait(timeout=5) == -9
        assert bystander.poll() is None
    finally:
        for process in (orphan, bystander):
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True)  # a watcher thread reads the heartbeats
def test_the_worker_beats_while_the_task_holds_the_gil(user, settings, monkeypatch):
    import itertools
    import re
    import threading

    from django.db import connection

    from downloads_app import ytdlp

    settings.STALE_TASK_TIMEOUT = 0.6  # a heartbeat every 0.2 s
    settings.EXTRACTION_TIMEOUT = 2
    # A catastrophic regex, as in a format filter: about ten seconds in C, holding the GIL.
    monkeypatch.setattr(ytdlp, "extract_metadata", lambda url: re.search("(a+)+!", "a" * 26))
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    beats, done = [], threading.Event()

    def watch():
        while not done.wait(0.05):
            beat = Task.objects.filter(pk=task.pk).values_list("heartbeat_at", flat=True)[0]
            if beat and (not beats or beats[-1] != beat):
                beats.append(beat)
        connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        runner.task_run(task.id)
    finally:
        done.set()
        watcher.join()
    task.refresh_from_db()
    assert "EXTRACTION_TIMEOUT" in task.error
    assert task.error_code == "timeout"
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(beats)]
    assert len(gaps) >= 5
    assert max(gaps) < settings.STALE_TASK_TIMEOUT


def waiting_task(api_key, created_ago, queued_ago=None):
    now = timezone.now()
    task = Task.objects.create(api_key=api_key, task_type="get_info", url="http://e.com")
    Task.objects.filter(pk=task.pk).update(
        created_at=now - timedelta(seconds=created_ago),
        queued_at=None if queued_ago is None else now - timedelta(seconds=queued_ago),
    )
    return task


def test_a_waiting_task_never_queued_is_queued_after_thirty_seconds(user, queued):
    lost = waiting_task(user[0], created_ago=31)
    waiting_task(user[0], created_ago=5)  # its web process may still be queueing it
    assert maintenance.requeue_lost_messages()["requeued_lost"] == 1
    assert queued == [lost.id]
    lost.refresh_from_db()
    assert lost.queued_at is not None


def test_a_task_deferred_for_its_keys_cap_is_not_taken_for_a_never_queued_one(user, queued):
    # task_claim leaves it waiting with the queued_at of the message it consumed.
    waiting_task(user[0], created_ago=300, queued_ago=290)
    assert maintenance.requeue_lost_messages()["requeued_lost"] == 0
    assert queued == []


def test_a_task_is_marked_queued_only_once_its_message_is_sent(user, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(lifecycle, "async_task", broker_down)
    task = waiting_task(user[0], created_ago=0)
    with pytest.raises(ConnectionError):
        lifecycle.enqueue(task.id)
    task.refresh_from_db()
    assert task.queued_at is None  # so the recovery sweep finds it


def test_a_late_worker_cannot_overwrite_a_task_that_recovery_gave_to_another(user, queued):
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    first_run = lifecycle.task_claim(task.id)
    # Its heartbeat went stale: recovery requeued it and another worker took it.
    Task.objects.filter(pk=task.pk).update(status="waiting")
    second_run = lifecycle.task_claim(task.id)
    assert second_run.attempts == 2
    assert lifecycle.task_finish(first_run, TaskStatus.ERROR, error="late") is False
    task.refresh_from_db()
    assert (task.status, task.error, task.finished_at) == ("processing", "", None)
    assert lifecycle.task_finish(second_run, TaskStatus.COMPLETED, file_name="info.json") is True
    task.refresh_from_db()
    assert (task.status, task.file_name) == ("completed", "info.json")


def test_a_late_worker_cannot_revive_a_task_that_was_deleted_or_finished(user):
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    run = lifecycle.task_claim(task.id)
    Task.objects.filter(pk=task.pk).update(status="error", error="Task exceeded the time limit")
    assert lifecycle.task_finish(run, TaskStatus.COMPLETED, file_name="info.json") is False
    task.refresh_from_db()
    assert task.status == "error"
    Task.objects.filter(pk=task.pk).delete()
    assert lifecycle.task_finish(run, TaskStatus.COMPLETED, file_name="info.json") is False
    assert not Task.objects.filter(pk=task.pk).exists()


@pytest.mark.django_db(transaction=True)  # the task's row is read after the worker ends
def test_a_worker_cut_off_from_the_database_stops_its_task_before_it_can_be_taken(
    user, settings, monkeypatch
):
    import time as clock

    from downloads_app import ytdlp
    from tests.support.processes import task_processes

    settings.STALE_TASK_TIMEOUT = 0.9  # a beat every 0.3 s, a lease of 0.6 s
    monkeypatch.setattr(ytdlp, "extract_metadata", lambda url: clock.sleep(30))
    # Every beat fails, as when the database is out of this worker's reach.
    monkeypatch.setattr(heartbeat, "record_heartbeat", lambda task: False)
    task = Task.objects.create(api_key=user[0], task_type="get_info", url="http://e.com")
    # Long before the 30 s work ends: the worker ends, and django-q2 starts another.
    with pytest.raises(SystemExit):
        runner.task_run(task.id)
    assert task_processes(task.id) == {}
    task.refresh_from_db()
    assert (task.status, task.attempts) == ("processing", 1)  # for recovery
    assert work_dirs(task) == []
