import dataclasses
import os

import pytest
from rest_framework.test import APIClient

from keys_app.models import PERMISSIONS, APIKey

# Tests resolve host names that exist nowhere (the SSRF checks, the schema's fuzzing of task
# URLs), with no internet. A resolver that drops a query when asked many in a row (this
# machine's does, about one in 27) makes glibc wait its default 5 s before it tries again:
# the OpenAPI fuzzing spent over a minute so. One second, and one try, for the tests'
# processes and the stacks they start (glibc reads RES_OPTIONS when it first resolves).
os.environ.setdefault("RES_OPTIONS", "timeout:1 attempts:1")

# The modules that take longest (a minute and more each, in the --durations of full runs
# under pytest-xdist), slowest first: the workers start on them, so that none of them is
# left to start last while the other workers run out of work.
SLOWEST_MODULES = (
    "tests/ytdlphost/test_openapi.py",
    "tests/e2e/test_faults.py",
    "tests/e2e/test_supervision.py",
    "tests/e2e/test_recovery.py",
    "tests/e2e/test_published_client.py",
    "tests/e2e/test_webhooks.py",
    "tests/e2e/test_ytdlp_updates.py",  # 30 s alone, 114 s under load (pip and a canary)
)


def pytest_collection_modifyitems(config, items):
    """Node ids unique, and under pytest-xdist the slowest modules first, then the other
    modules with end-to-end tests, each module kept whole.

    The workers take modules in this order (pyproject.toml: --dist loadfile
    --no-loadscope-reorder). The end-to-end modules take most of the time: started first,
    they run beside the many short unit-test modules, instead of one of them starting last
    and leaving the other workers idle. In a single process the order stays as collected
    (quick unit tests first, for -x)."""
    for item in items:
        # schemathesis 4.32 under pytest 9.2 gives every operation's item the same node id;
        # pytest-xdist hands tests out by node id and would run one operation instead of
        # all. The operation in the id keeps them apart (and names it in --durations).
        label = getattr(item, "operation_label", None)
        if label and item.id.params is None:
            item._id = dataclasses.replace(item.id, params=label)  # pytest has no public setter
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    modules_with_e2e = {item.path for item in items if item.get_closest_marker("e2e")}

    def rank(item):
        module = item.nodeid.split("::", 1)[0]
        if module in SLOWEST_MODULES:
            return 0, SLOWEST_MODULES.index(module)
        return (1,) if item.path in modules_with_e2e else (2,)

    items.sort(key=rank)  # stable: otherwise as collected


@pytest.fixture
def make_key(db):
    """make_key(name, permissions) -> (APIKey, secret)."""

    def make(name="user", permissions=PERMISSIONS, **extra):
        return APIKey.objects.create_key(name, permissions, **extra)

    return make


@pytest.fixture
def client_for():
    """client_for(secret) -> a DRF test client sending that X-API-Key."""

    def make(secret=None):
        client = APIClient()
        if secret is not None:
            client.credentials(HTTP_X_API_KEY=secret)
        return client

    return make


@pytest.fixture
def queued(monkeypatch):
    """The task ids sent to the queue (nothing runs)."""
    ids = []
    monkeypatch.setattr(
        "downloads_app.lifecycle.async_task", lambda func, task_id, **kw: ids.append(task_id)
    )
    return ids


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 (tests/support/webhooks.py)."""
    from tests.support.webhooks import Receiver

    with Receiver() as running:
        yield running


@pytest.fixture
def admin_client(make_key, client_for):
    _, secret = make_key("root", PERMISSIONS)
    return client_for(secret)


# The media server fixtures (ffmpeg-generated media served from 127.0.0.1).
from tests.support.media_fixtures import *  # noqa: E402, F403


# The attacker's world for security tests: a scripted server on 127.0.0.2 and an internal
# canary on 127.0.0.1 (tests/support/hostile.py).
@pytest.fixture(scope="module")
def hostile():
    from tests.support.hostile import HostileServer

    with HostileServer() as server:
        yield server


@pytest.fixture(scope="module")
def canary(media_root):
    """Real media on 127.0.0.1, standing for the internal network: never to be reached."""
    from tests.support.media_server import MediaServer

    with MediaServer(media_root) as server:
        yield server


@pytest.fixture(scope="module")
def allowed_media(media_root):
    """Real media on the hostile address, which the attacked stack may reach: for what must
    still work (`?rate=` serves it slowly)."""
    from tests.support.hostile import HOSTILE_HOST
    from tests.support.media_server import MediaServer

    with MediaServer(media_root, host=HOSTILE_HOST) as server:
        yield server


@pytest.fixture(scope="session")
def ytdlp_wheels(tmp_path_factory):
    """A folder of yt-dlp wheels made from the installed one (tests/support/ytdlp_wheels.py):
    `good`, a newer release, and `broken`, a newer nightly whose generic extractor raises.
    For pip: PIP_FIND_LINKS=folder, PIP_NO_INDEX=1."""
    from tests.support.ytdlp_wheels import build_wheel

    folder = tmp_path_factory.mktemp("yt-dlp-wheels")
    wheels = YtdlpWheels(folder, good="2099.1.1", broken="2099.1.2.1.dev0")
    build_wheel(folder, wheels.good)
    build_wheel(folder, wheels.broken, broken=True)
    return wheels


@dataclasses.dataclass(frozen=True)
class YtdlpWheels:
    folder: object
    good: str
    broken: str

    @property
    def pip_environment(self) -> dict:
        return {"PIP_FIND_LINKS": str(self.folder), "PIP_NO_INDEX": "1"}


@pytest.fixture(autouse=True)
def listed_writes_guarded():
    """Every test's writes of a field a task list shows keep its change signal
    (tests/support/listed_writes.py)."""
    from django.db import connection

    from tests.support.listed_writes import check_listed_write

    with connection.execute_wrapper(check_listed_write):
        yield


# The S3 stand-in (tests/support/s3.py): one moto server per pytest process, started by
# the first test that needs it, and a bucket of its own for each module.
@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    from tests.support.s3 import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bucket(moto_server, request):
    import re
    import secrets

    module = request.module.__name__.rsplit(".", 1)[-1].lower()
    name = re.sub("[^a-z0-9]", "-", module)[:40]
    return moto_server.create_bucket(f"{name}-{secrets.token_hex(4)}")
