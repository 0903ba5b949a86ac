"""Which URLs and addresses a task may fetch from.

Only http and https. Hosts that resolve to loopback, private, link-local, multicast,
reserved or otherwise non-global addresses are refused unless ALLOW_PRIVATE_URLS is true
or the address is in ALLOWED_PRIVATE_NETWORKS, so a key holder cannot make the server
fetch from its own network. check_url runs when a request arrives; address_allowed runs
again on every connection yt-dlp opens (ytdlp.py), on the address actually connected to,
so redirects, manifests, segments and DNS answers that change in between are covered.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = {"http", "https"}


class URLNotAllowed(ValueError):
    pass


def _ip(address: str):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip


def is_public_address(address: str) -> bool:
    ip = _ip(address)
    return ip.is_global and not ip.is_multicast


def address_allowed(address: str) -> bool:
    if settings.ALLOW_PRIVATE_URLS or is_public_address(address):
        return True
    ip = _ip(address)
    return any(
        ip in ipaddress.ip_network(network, strict=False)
        for network in settings.ALLOWED_PRIVATE_NETWORKS
    )


def resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise URLNotAllowed(f"cannot resolve host '{host}'") from None
    return sorted({info[4][0] for info in infos})


def check_url(url: str) -> None:
    """Raise URLNotAllowed when the task may not fetch this URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise URLNotAllowed("is not a valid URL") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise URLNotAllowed("must be an http or https URL")
    if not host:
        raise URLNotAllowed("has no host")
    if settings.ALLOW_PRIVATE_URLS:
        return
    for address in resolve(host):
        if not address_allowed(address):
            raise URLNotAllowed(f"points at a private or internal address ({address})")
