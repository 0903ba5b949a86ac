"""Settings for the test suite: the production settings, with their state in a
temporary DATA_DIR and private URLs allowed for the 127.0.0.1 media server."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="ytdlphost-test-"))
# pytest-xdist's workers inherit the controlling process's environment, DATA_DIR included:
# each worker keeps its state (test database, downloads, cache) in a directory of its own,
# so no test sees another worker's files. A subprocess started by a test inherits the
# worker's directory and keeps it.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _xdist_worker and Path(os.environ["DATA_DIR"]).name != _xdist_worker:
    os.environ["DATA_DIR"] = str(Path(os.environ["DATA_DIR"]) / _xdist_worker)
os.environ.setdefault("ALLOW_PRIVATE_URLS", "true")
# Tests that need a disk limit set one; a nearly full CI disk must not fail the rest.
os.environ.setdefault("MIN_FREE_DISK", "0")
# No test asks a package index for a new yt-dlp unless it says so (there is no network).
os.environ.setdefault("YTDLP_UPDATE", "off")

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
