"""bench/scale_out.py's arithmetic: the exactly-once accounting and the latency figures."""

import pytest

from bench.scale_out_figures import drain_seconds, exactly_once, latency_figures


def row(task_id, parent_id=None, status="completed", attempts=1):
    return {"id": task_id, "parent_id": parent_id, "status": status, "attempts": attempts}


def ended(task_id, claims=1, ends=1):
    """What a cluster logs of a task's runs: each claim, and each end."""
    return (
        f"2026-12-06 INFO ytdlphost.tasks: task {task_id} processing: get_info for key k\n" * claims
        + f"2026-12-06 INFO ytdlphost.tasks: task {task_id} completed: get_info for key k\n" * ends
    )


def test_a_task_run_again_after_the_kill_completed_exactly_once():
    rows = [row("a"), row("p"), row("c1", "p", attempts=2), row("c2", "p")]
    # c1's first run, on the killed cluster, was claimed and never ended.
    logs = [ended("a") + ended("c1", ends=0), ended("p", claims=1) + ended("c1") + ended("c2")]
    events = [("w1", "task.completed", "a"), ("w2", "task.completed", "p")]
    verdict = exactly_once(["a", "p"], rows, logs, events, expected_children=2)
    assert verdict["ok"], verdict
    assert verdict["attempts"] == {"1": 3, "2": 1}
    assert verdict["log_ends_per_task"] == {"1": 4}
    assert verdict["claims_not_attempts"] == []


def test_a_webhook_delivered_twice_under_one_id_is_one_announcement():
    events = [("w1", "task.completed", "a"), ("w1", "task.completed", "a")]
    assert exactly_once(["a"], [row("a")], [ended("a")], events, 0)["ok"]


@pytest.mark.parametrize(
    ("logs", "events", "found"),
    [
        ([ended("a", claims=2, ends=2)], [("w1", "task.completed", "a")], "not_once_in_logs"),
        ([ended("a")], [("w1", "task.completed", "a"), ("w2", "task.completed", "a")],
         "webhook_doubled_or_other"),
        ([ended("a")], [("w1", "task.failed", "a")], "webhook_doubled_or_other"),
        ([ended("a")], [], "webhook_unannounced"),
    ],
)  # fmt: skip
def test_a_task_ended_twice_or_unannounced_is_not_exactly_once(logs, events, found):
    verdict = exactly_once(["a"], [row("a", attempts=len(logs))], logs, events, 0)
    assert not verdict["ok"]
    assert verdict[found] == ["a"]


def test_a_lost_task_or_entry_is_not_exactly_once():
    events = [("w1", "task.completed", "a")]
    lost = exactly_once(["a", "b"], [row("a")], [ended("a")], events, 0)
    assert not lost["ok"] and lost["submitted_without_row"] == ["b"]
    unlisted = exactly_once(["a"], [row("a")], [ended("a")], events, expected_children=1)
    assert not unlisted["ok"]
    waiting = exactly_once(["a"], [row("a", status="waiting")], [""], events, 0)
    assert not waiting["ok"] and waiting["not_completed"] == ["a"]


def test_latency_figures_interpolate_between_ranks():
    figures = latency_figures([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert figures["n"] == 100
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p99_ms"] == pytest.approx(99.01)
    assert figures["max_ms"] == pytest.approx(100)
    assert latency_figures([])["p50_ms"] is None


def test_the_drain_runs_from_the_last_submission_to_the_last_end():
    assert drain_seconds(100.0, [90.0, 130.5, 120.0]) == 30.5
    assert drain_seconds(100.0, []) is None
