"""Settings for the test suite: the production settings, with their state in a
temporary DATA_DIR and private URLs allowed for the 127.0.0.1 media server."""

import os
import tempfile

os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="ytdlphost-test-"))
os.environ.setdefault("ALLOW_PRIVATE_URLS", "true")
# Tests that need a disk limit set one; a nearly full CI disk must not fail the rest.
os.environ.setdefault("MIN_FREE_DISK", "0")

from ytdlphost import state  # noqa: E402

state.prepare()

from ytdlphost.settings import *  # noqa: E402, F403

# A file, not SQLite's shared in-memory database: tests that use threads (rate limit
# under concurrency) need real WAL locking. (With DATABASE_URL=postgres://..., Django's
# own test database, test_<name>, is used.)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

# Tasks queued by a committed request run inline, in the test's process.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
