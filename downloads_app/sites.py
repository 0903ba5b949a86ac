"""A task's site, and the cap SITE_CONCURRENCY gives it.

A site is the registrable domain of the host a task's URL names, as the Public Suffix
List defines it (the list bundled with `publicsuffixlist`, read offline):
www.youtube.com and m.youtube.com are youtube.com, news.bbc.co.uk is bbc.co.uk, and
someone.github.io is a site of its own. An IP address, `localhost`, and any host that
is itself a public suffix are their own site. A task stores its site when it is created
(Task.site); site_limits.py holds a site's tasks back by it.
"""

import contextlib
import ipaddress
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from publicsuffixlist import PublicSuffixList

# What SITE_CONCURRENCY calls every site it does not name.
ANY_SITE = "*"
SITE_MAX_LENGTH = 255


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # its bundled copy of the list: no network, ~40 ms once


def site_of_host(host: str) -> str:
    """The site of a host name or address ("" for none)."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host:
        return ""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass  # a name
    # bücher.de and xn--bcher-kva.de are one site; a name IDNA cannot spell stays as written.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return (_public_suffixes().privatesuffix(host) or host)[:SITE_MAX_LENGTH]


def site_of(url: str) -> str:
    """The site of a task's URL ("" when it names no host)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return site_of_host(host or "")


def suffixes_named(names) -> list[str]:
    """Those of `names` (SITE_CONCURRENCY's) that are public suffixes such as co.uk or
    github.io: under them are many sites, so no site is ever one of them. (A name of one
    label may be a host of the local network: it is left alone.)"""
    return [name for name in names if "." in name and _public_suffixes().is_public(name)]


@cache
def _caps(configured: tuple) -> dict[str, int]:
    return {
        name if name == ANY_SITE else site_of_host(name): cap for name, cap in configured
    }  # fmt: skip


def site_cap(site: str) -> int | None:
    """How many tasks of the site may run at once, across every cluster: its own entry of
    SITE_CONCURRENCY (a host name there counts for its site), else the `*` entry; None
    when neither applies (no cap)."""
    if not site:
        return None
    caps = _caps(tuple(settings.SITE_CONCURRENCY.items()))
    return caps.get(site, caps.get(ANY_SITE))
