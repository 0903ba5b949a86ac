"""The guard of the task list's change signal, on every test (tests/conftest.py): an
UPDATE of the task table that writes a field a list shows (downloads_app.models
.LISTED_FIELDS) must write `listed_version` too, or the list's ETag and its long poll
would miss the change. The models write it for every ORM write (TaskQuerySet.update,
Task.save); this catches a write that goes around them (raw SQL, a plain QuerySet)."""

import re

from downloads_app.models import LISTED_FIELDS, Task

TASK_UPDATE = re.compile(rf'^\s*UPDATE\s+"?{Task._meta.db_table}"?\s+SET\s', re.IGNORECASE)
# A column assigned at the top of the SET clause: after SET or a comma.
ASSIGNED = re.compile(r'(?:\bSET|,)\s*"?(\w+)"?\s*=', re.IGNORECASE)
LISTED_COLUMNS = frozenset(Task._meta.get_field(name).column for name in LISTED_FIELDS)


class UnsignalledListedWrite(AssertionError):
    pass


def check_listed_write(execute, sql, params, many, context):
    if TASK_UPDATE.match(sql):
        assigned = set(ASSIGNED.findall(re.split(r"\sWHERE\s", sql, maxsplit=1)[0]))
        listed = assigned & LISTED_COLUMNS
        if listed and "listed_version" not in assigned:
            raise UnsignalledListedWrite(f"{sorted(listed)} written without listed_version: {sql}")
    return execute(sql, params, many, context)
