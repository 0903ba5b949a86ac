"""url_policy on IPv6 addresses that embed an IPv4 address, and on deprecated prefixes: a
NAT64 gateway or 6to4 relay would connect to the IPv4 address, so that address is judged."""

import pytest

from downloads_app import url_policy


@pytest.fixture(autouse=True)
def guarded(settings):
    settings.ALLOW_PRIVATE_URLS = False
    settings.ALLOWED_PRIVATE_NETWORKS = ["127.0.0.2/32"]


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64, well-known prefix: 127.0.0.1
        "http://[64:ff9b::a00:1]/",  # NAT64: 10.0.0.1
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 prefix: the operator's own network
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::]/",  # 6to4 of 169.254.169.254 (cloud metadata)
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::a9fe:a9fe]/",  # IPv4-compatible 169.254.169.254
        "http://[fec0::1]/",  # site-local, deprecated
    ],
)
def test_an_ipv6_address_carrying_an_internal_address_is_refused(url):
    with pytest.raises(url_policy.URLNotAllowed, match="private or internal"):
        url_policy.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8
        "http://[2002:808:808::]/",  # 6to4 of 8.8.8.8
        "http://[2606:4700:4700::1111]/",  # plain global IPv6
    ],
)
def test_an_ipv6_address_carrying_a_public_address_is_allowed(url):
    url_policy.check_url(url)


def test_the_embedded_address_may_be_in_the_allowed_networks():
    url_policy.check_url("http://[64:ff9b::7f00:2]/")  # 127.0.0.2


def test_the_refusal_names_the_host_not_its_address():
    with pytest.raises(url_policy.URLNotAllowed) as refused:
        url_policy.check_url("http://localhost/")
    assert "localhost" in str(refused.value)
    assert "127.0.0.1" not in str(refused.value) and "::1" not in str(refused.value)
    assert "ALLOWED_PRIVATE_NETWORKS" in str(refused.value)


def test_the_refusal_says_how_to_allow_it_and_that_a_restart_is_needed():
    # Settings are read when the processes start: a newcomer who edits .env and retries
    # at once is refused again without this.
    with pytest.raises(url_policy.URLNotAllowed) as refused:
        url_policy.check_url("http://localhost/")
    assert "set ALLOW_PRIVATE_URLS=true" in str(refused.value)
    assert "then restart the service" in str(refused.value)
