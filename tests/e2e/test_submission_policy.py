"""What a task may point at, decided when the request arrives, on a default installation:
IPv6 forms that carry an internal IPv4 address are refused, and a refusal names the host,
never the address it resolved to (no name-to-address oracle)."""

import pytest
import requests

from tests.support.hostile import attack_env
from tests.support.stack import LiveStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("policy"), env=attack_env()) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack):
    return stack.create_key("prober", ["get_video", "get_info"])


def submit(stack, key, url):
    return requests.post(
        f"{stack.base_url}/get_info", json={"url": url}, headers={"X-API-Key": key}, timeout=10
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped
        "http://[fec0::1]/",  # site-local
    ],
)
def test_ipv6_forms_of_internal_addresses_are_refused(stack, key, url):
    response = submit(stack, key, url)
    assert response.status_code == 400, response.text
    assert "ALLOW_PRIVATE_URLS" in response.json()["error"]


def test_a_refused_name_is_named_but_its_address_is_not_told(stack, key):
    response = submit(stack, key, "http://localhost:9/video.mp4")
    assert response.status_code == 400
    message = response.json()["error"]
    assert "localhost" in message
    assert "127.0.0.1" not in message and "::1" not in message
    assert "ALLOW_PRIVATE_URLS" in message and "ALLOWED_PRIVATE_NETWORKS" in message
