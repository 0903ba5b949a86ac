import json
import logging
import re
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime",
}  # fmt: skip


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, traceback."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# /status/<id> and /files/<id>/<name>, wherever a path appears in a log line (gunicorn's
# request line and referer, django.request's "Not Found: /files/..."). A task id is the
# secret of its /files URL: logs that are shipped, shared or read by support staff keep
# only its first characters, enough to tell requests apart.
TASK_ID_IN_PATH = re.compile(r"(/(?:status|files)/)([^/\s?#\"]{1,4})[^/\s?#\"]*")


def redact_task_ids(text: str) -> str:
    return TASK_ID_IN_PATH.sub(r"\1\2...", text)


class RedactTaskIdsInPaths(logging.Filter):
    """Cuts task ids short in the URL paths of a record's message (settings.LOGGING)."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact_task_ids(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class QueueRoutineAsDebug(logging.Filter):
    """django-q2's INFO lines for each task it queues, schedules, takes and finishes, made
    DEBUG (settings.LOGGING, on the django-q logger): an idle service logged four of them
    every minute for its maintenance, and each download two beside its own lines
    (ytdlphost.tasks). Its start, stop, warnings and failures keep their level. Matched on
    django-q2's English wording: should it change, the lines come back at INFO, no worse."""

    ROUTINE = re.compile(
        r"^Enqueued \[|^Processed '| created task \S+ from schedule \[| processing \S+ '"
    )

    def filter(self, record):
        if record.levelno != logging.INFO or not self.ROUTINE.search(record.getMessage()):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
