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
from tests.conftest_media import *  # noqa: E402, F403
