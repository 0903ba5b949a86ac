"""What the logs say at INFO: django-q2's routine lines about each task it handles are
DEBUG, so an idle service is quiet; its start, stop and failures still show."""

import logging

import pytest
from django_q.conf import logger as queue_logger

ROUTINE = [
    "Enqueued [ytdlphost] 1",
    "Process-e19a9cd3 created task lithium-idaho-four-high from schedule [ytdlphost-cleanup]",
    "Process-e19a9cd3 processing lithium-idaho-four-high 'downloads_app.tasks.cleanup' "
    "[ytdlphost-cleanup]",
    "Processed 'downloads_app.tasks.cleanup' (lithium-idaho-four-high)",
]


@pytest.mark.parametrize("line", ROUTINE)
def test_the_queues_routine_lines_are_not_logged_at_info(caplog, line):
    with caplog.at_level(logging.INFO):
        queue_logger.info(line)
    assert caplog.records == []


@pytest.mark.parametrize("line", ROUTINE)
def test_they_are_logged_at_debug(caplog, line):
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, "django-q"):
        queue_logger.info(line)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("DEBUG", line)]


def test_the_clusters_start_and_a_failed_task_still_are(caplog):
    with caplog.at_level(logging.INFO):
        queue_logger.info("Q Cluster oven-aspen starting.")
        queue_logger.error("Failed 'downloads_app.tasks.cleanup' (x) - boom")
    assert [r.levelname for r in caplog.records] == ["INFO", "ERROR"]
