"""The limits a task runs under, each said once with the setting that sets it: the
supervising worker enforces them (supervisor.py), recovery fails a task past its time
(maintenance.py)."""

from django.conf import settings


def time_limit_message() -> str:
    return f"Task exceeded the time limit of {settings.TASK_TIME_LIMIT} seconds"


def extraction_timeout_message() -> str:
    return (
        "Metadata extraction did not finish within the extraction deadline "
        f"(EXTRACTION_TIMEOUT, {settings.EXTRACTION_TIMEOUT:g} seconds)"
    )


def stall_message() -> str:
    return (
        f"The download stalled: no data arrived for {settings.STALL_TIMEOUT:g} seconds "
        "(STALL_TIMEOUT)"
    )
