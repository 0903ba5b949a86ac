import pytest
from rest_framework.test import APIClient

from keys_app.models import PERMISSIONS, APIKey


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
    from tests.support.media import MediaServer

    with MediaServer(media_root) as server:
        yield server


@pytest.fixture(scope="module")
def allowed_media(media_root):
    """Real media on the hostile address, which the attacked stack may reach: for what must
    still work (`?rate=` serves it slowly)."""
    from tests.support.hostile import HOSTILE_HOST
    from tests.support.media import MediaServer

    with MediaServer(media_root, host=HOSTILE_HOST) as server:
        yield server
