"""Which URLs and addresses a task may fetch from.

Only http and https. Hosts that resolve to loopback, private, link-local, multicast,
reserved or otherwise non-global addresses are refused unless ALLOW_PRIVATE_URLS is true
or the address is in ALLOWED_PRIVATE_NETWORKS, so a key holder cannot make the server
fetch from its own network. check_url runs when a request arrives; address_allowed runs
again on every connection yt-dlp opens (connection_guard.py), on the address actually connected to,
so redirects, manifests, segments and DNS answers that change in between are covered.
ffmpeg's requests pass allowed_addresses in the egress relay (egress.py), and so do
yt-dlp's requests through a proxy, whose own address is all the connection guard sees.
The server's own requests (webhooks.py) connect through guarded_create_connection here,
with the same check on every address.

IPv6 addresses that carry an IPv4 address (IPv4-mapped and -compatible, 6to4, NAT64) are
judged by that IPv4 address: a NAT64 gateway would connect to it.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = {"http", "https"}

# NAT64 with the well-known prefix (RFC 6052): the IPv4 address is the last 32 bits.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# Local-use NAT64 (RFC 8215) translates into the operator's own network, by definition.
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
# Deprecated IPv4-compatible addresses (RFC 4291), ::a.b.c.d (:: and ::1 excepted).
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class URLNotAllowed(ValueError):
    pass


class HostNotResolved(URLNotAllowed):
    """The URL's host name does not resolve: a network failure, not a refusal."""


class BlockedAddress(OSError):
    """A connection refused because the address it would reach is not allowed."""


def _ip(address: str):
    """The address to judge: the embedded IPv4 address of an IPv6 address that has one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64_WELL_KNOWN or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public_address(address: str) -> bool:
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_site_local or ip in NAT64_LOCAL_USE):
        return False  # fec0::/10 is deprecated, not global; local NAT64 is internal
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
        raise HostNotResolved(f"cannot resolve host '{host}'") from None
    return sorted({info[4][0] for info in infos})


def private_host_message(host: str) -> str:
    # The host, never the address it resolved to: the message would otherwise tell a key
    # holder what internal names resolve to.
    # Settings are read when the processes start, so changing one takes a restart.
    return (
        f"points at a private or internal address (host '{host}'; to allow it, set "
        "ALLOW_PRIVATE_URLS=true or list its network in ALLOWED_PRIVATE_NETWORKS, then "
        "restart the service)"
    )


def allowed_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to; URLNotAllowed if any of them is not allowed.

    Every address must be allowed: a name with one internal address among public ones
    is refused, whichever of them a connection would pick.
    """
    addresses = resolve(host)
    if not all(address_allowed(address) for address in addresses):
        raise URLNotAllowed(private_host_message(host))
    return addresses


def literal_address(host: str) -> str | None:
    """The address a host names without DNS (`10.0.0.1`, `[::1]`, `127.1`), or None."""
    try:
        return str(_ip(host))
    except ValueError:
        pass
    try:
        # The legacy IPv4 spellings (`127.1`, `0x7f.0.0.1`, `2130706433`) that
        # getaddrinfo and so yt-dlp accept.
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, resolve_host: bool = True) -> None:
    """Raise URLNotAllowed when the task may not fetch this URL.

    Without `resolve_host`, a host name is not looked up (the import of yt-dlp-host's
    tasks checks thousands of URLs, some of hosts long gone); a literal address is still
    judged. The connection guard judges every address again when the task runs.
    """
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
    if resolve_host:
        allowed_addresses(host)
    elif (address := literal_address(host)) is not None and not address_allowed(address):
        raise URLNotAllowed(private_host_message(host))


def connect_if_allowed(host: str, connect):
    """`connect(ip_addr, timeout, source_address)` (the signature of yt-dlp's and
    guarded_create_connection's socket openers) that first refuses, with BlockedAddress,
    an address that address_allowed does not allow. Checked right before connecting to
    each address: every redirect hop is covered, and a DNS answer that changed since the
    URL was checked cannot slip through."""

    def connect_to_allowed(ip_addr, timeout, source_address):
        if not address_allowed(ip_addr[4][0]):
            raise BlockedAddress(f"refused to connect: {private_host_message(host)}")
        return connect(ip_addr, timeout, source_address)

    return connect_to_allowed


def socket_connect(ip_addr, timeout, source_address, *, opened=None):
    """A socket connected to one address of getaddrinfo's; `opened(sock)`, when given, is
    called before it connects (webhooks' deadline watches the socket from then on)."""
    family, kind, proto, _canonical_name, address = ip_addr
    sock = socket.socket(family, kind, proto)
    try:
        if opened is not None:
            opened(sock)
        if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
            sock.settimeout(timeout)
        if source_address:
            sock.bind(source_address)
        sock.connect(address)
        return sock
    except OSError:
        sock.close()
        raise


def guarded_create_connection(address, timeout, source_address=None, *, connect=None):
    """socket.create_connection for the server's own requests (webhooks.py), refusing
    (BlockedAddress) every address that is not allowed, as the connection guard does for
    yt-dlp: each address the name resolves to is tried in turn, and the last error raised
    when none connects. `connect(ip_addr, timeout, source_address)`, when given, opens
    the socket to each allowed address (webhooks.py's deadline)."""
    host, port = address
    connect_to_allowed = connect_if_allowed(host, connect or socket_connect)
    error = OSError("getaddrinfo returns an empty list")
    for ip_addr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        try:
            return connect_to_allowed(ip_addr, timeout, source_address)
        except OSError as exc:
            error = exc
    raise error
