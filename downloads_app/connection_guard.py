"""The connection guard: where yt-dlp, and the ffmpeg it starts, may connect.

This module owns every change to yt-dlp's networking internals; no other module patches or
subclasses them. `install()`, called from DownloadsAppConfig.ready(), replaces:

- the create_connection yt-dlp's urllib handler looks up on every connection, with one
  that refuses addresses url_policy does not allow;
- the Popen of yt-dlp's external downloaders, with one that runs ffmpeg only through the
  egress relay (egress.py) of the download at hand.

GuardedYoutubeDL sends every HTTP request through GuardedUrllibRH, which checks the target
of proxied requests and caps whole-body reads at MAX_PAGE_SIZE. REQUIRED_INTERNALS lists
what all this relies on; a system check (checks.py) reports any of it missing after a
yt-dlp upgrade, and the guard not installed, as errors.

ytdlp.py builds the options and runs downloads with GuardedYoutubeDL; egress.py is the relay
itself; url_policy.py says which addresses are allowed, and owns the guarded connection of
the server's own requests (webhooks.py), which need nothing of yt-dlp.
"""

import contextlib
import contextvars
import functools
import importlib
import inspect
import io
import logging
import os
import shutil
import tempfile
import zlib
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import BaseHandler, addinfourl

import yt_dlp
from django.conf import settings
from yt_dlp.dependencies import brotli
from yt_dlp.downloader import external as external_downloader
from yt_dlp.networking import _helper as networking_helper
from yt_dlp.networking import _urllib as urllib_handler
from yt_dlp.networking._urllib import UrllibResponseAdapter, UrllibRH
from yt_dlp.networking.common import RequestHandler, Response
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils.networking import select_proxy

from downloads_app import egress, url_policy
from downloads_app.url_policy import BlockedAddress

logger = logging.getLogger("ytdlphost.ytdlp")

# What the guard replaces, overrides or calls in yt-dlp, beyond its public API: module,
# attribute, and a keyword argument the guard passes to it.
REQUIRED_INTERNALS = (
    ("yt_dlp.networking._urllib", "create_connection", None),  # replaced by install()
    ("yt_dlp.networking._helper", "create_connection", "_create_socket_func"),
    ("yt_dlp.networking._helper", "_socket_connect", None),
    ("yt_dlp.networking._urllib", "UrllibRH._create_instance", None),  # overridden
    ("yt_dlp.networking._urllib", "UrllibRH._send", None),  # overridden
    ("yt_dlp.networking._urllib", "UrllibResponseAdapter.read", None),  # overridden
    ("yt_dlp.networking._urllib", "HTTPHandler.http_response", None),  # runs after ours
    ("yt_dlp.YoutubeDL", "YoutubeDL._request_director", None),  # overridden
    ("yt_dlp.YoutubeDL", "YoutubeDL.build_request_director", None),
    ("yt_dlp.downloader.external", "Popen", None),  # replaced by install()
)


def missing_internals() -> list[str]:
    """The names in REQUIRED_INTERNALS that this yt-dlp lacks."""
    missing = []
    for module_name, attribute_path, keyword in REQUIRED_INTERNALS:
        name = f"{module_name}.{attribute_path}"
        try:
            found = importlib.import_module(module_name)
            for attribute in attribute_path.split("."):
                found = getattr(found, attribute)
        except (ImportError, AttributeError):
            missing.append(name)
            continue
        if keyword and keyword not in inspect.signature(found).parameters:
            missing.append(f"{name}({keyword}=...)")
    return missing


def install() -> None:
    """Put the guard in place (from DownloadsAppConfig.ready(); harmless twice).

    With a yt-dlp that lacks what the guard needs, nothing is replaced: the system check
    reports what is missing and the guard as not installed, and GuardedYoutubeDL refuses
    to run.
    """
    if missing := missing_internals():
        logger.error("the connection guard is not installed: yt-dlp lacks %s", missing)
        return
    # The urllib handler looks create_connection up in its module on every connection.
    urllib_handler.create_connection = _guarded_create_connection
    external_downloader.Popen = _RelayedPopen


def installed() -> bool:
    return (
        getattr(urllib_handler, "create_connection", None) is _guarded_create_connection
        and getattr(external_downloader, "Popen", None) is _RelayedPopen
    )


# --- Where yt-dlp may connect --------------------------------------------------------


def _guarded_create_connection(address, *args, _create_socket_func=None, **kwargs):
    """yt-dlp's create_connection, refusing addresses that url_policy does not allow, on
    each address getaddrinfo returned, right before connecting to it
    (url_policy.connect_if_allowed)."""
    connect = _create_socket_func or networking_helper._socket_connect
    return networking_helper.create_connection(
        address,
        *args,
        _create_socket_func=url_policy.connect_if_allowed(address[0], connect),
        **kwargs,
    )


class _CheckProxiedTarget(BaseHandler):
    """Through a proxy, the connection guard sees only the proxy's address (the operator's
    choice), and the proxy would reach whatever host a redirect names. So each request that
    goes through a proxy, every redirect hop included (urllib runs request processors on
    each), has its target host resolved and checked here before it is sent.

    The proxy resolves the name again itself; a name whose DNS answer changes in between
    is the remaining gap, for the proxy's own rules to close (docs/security.md).
    """

    def __init__(self, proxies: dict):
        self.proxies = proxies

    def http_request(self, request):
        if settings.ALLOW_PRIVATE_URLS or select_proxy(request.full_url, self.proxies) is None:
            return request
        host = urlsplit(request.full_url).hostname or ""
        try:
            url_policy.allowed_addresses(host)
        except url_policy.URLNotAllowed as exc:
            raise BlockedAddress(f"refused to request through the proxy: {exc}") from None
        return request

    https_request = http_request


def _too_large(url: str, limit: int) -> TransportError:
    return TransportError(
        f"the response from {url} is larger than the server's limit for pages, manifests "
        f"and playlists (MAX_PAGE_SIZE, {limit} bytes)"
    )


class _BoundedDecoding(BaseHandler):
    """Decodes gzip, deflate and brotli bodies up to MAX_PAGE_SIZE, before yt-dlp's own
    handler would decode them whole into memory: a few MB of gzip can hold gigabytes.

    Runs before yt-dlp's HTTPHandler (a lower handler_order) and removes the
    Content-Encoding it decoded, so yt-dlp then passes the body through unchanged.
    """

    handler_order = 499  # yt-dlp's HTTPHandler, which decodes whole bodies, is at 500

    def http_response(self, request, response):
        encodings = [
            encoding.strip().lower()
            for encoding in response.headers.get("Content-Encoding", "").split(",")
            if encoding.strip() and encoding.strip().lower() != "identity"
        ]
        decoders = {"gzip": _gunzip, "deflate": _inflate}
        if brotli:
            decoders["br"] = _unbrotli
        if not encodings or not all(encoding in decoders for encoding in encodings):
            return response  # nothing encoded, or nothing yt-dlp would decode either
        limit = settings.MAX_PAGE_SIZE or None
        body = response.read() if limit is None else response.read(limit + 1)
        for encoding in reversed(encodings):  # listed in the order they were applied
            if limit is not None and len(body) > limit:
                break
            body = decoders[encoding](body, limit)
        if limit is not None and len(body) > limit:
            response.close()
            raise _too_large(request.full_url, limit)
        del response.headers["Content-Encoding"]
        decoded = addinfourl(io.BytesIO(body), response.headers, response.url, response.code)
        decoded.msg = response.msg
        return decoded

    https_response = http_response


def _output_bound(limit: int | None) -> int:
    # zlib's max_length: one byte past the limit shows the limit was passed; 0: unbounded.
    return 0 if limit is None else limit + 1


def _gunzip(data: bytes, limit: int | None) -> bytes:
    # One gzip member, as yt-dlp decodes it (junk after it is ignored).
    return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(data, _output_bound(limit))


def _inflate(data: bytes, limit: int | None) -> bytes:
    try:  # raw deflate, as most servers send it; else a zlib stream
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, _output_bound(limit))
    except zlib.error:
        return zlib.decompressobj().decompress(data, _output_bound(limit))


def _unbrotli(data: bytes, limit: int | None) -> bytes:
    if limit is None:
        return brotli.decompress(data)
    return brotli.Decompressor().process(data, output_buffer_limit=limit + 1)


class _PageSizeCapped(UrllibResponseAdapter):
    """A response whose whole-body read() stops at MAX_PAGE_SIZE.

    yt-dlp reads web pages, manifests and playlists whole, into memory (read() without a
    size); media downloaders read in chunks (read(n)), which stay unlimited: their size is
    MAX_FILESIZE's business.
    """

    def read(self, amt=None):
        limit = settings.MAX_PAGE_SIZE
        if (amt is not None and amt >= 0) or not limit:
            return super().read(amt)
        chunks, size = [], 0
        while chunk := super().read(min(64 * 1024, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                self.close()
                raise _too_large(self.url, limit)
        return b"".join(chunks)


# TLS contexts by the arguments yt-dlp makes them with: one per process for each (a worker
# makes them in its warm-up, and every task's child inherits them).
_tls_contexts: dict[tuple, object] = {}


class GuardedUrllibRH(UrllibRH):
    """yt-dlp's urllib handler, checking proxied targets and capping whole-body reads."""

    RH_NAME = "guarded_urllib"

    def _make_sslcontext(self, legacy_ssl_support=None):
        """yt-dlp's TLS context, made once per set of arguments instead of once per
        YoutubeDL: loading the CA bundle costs 20-30 ms of CPU, which every task paid, an
        http:// one too (bench/direct_info.py). A context holds no connection state, so
        sharing it is what the ssl module intends. A client certificate is read from its
        files each time, as yt-dlp does, so that a replaced file takes effect."""
        if self._client_cert:
            return super()._make_sslcontext(legacy_ssl_support)
        legacy = self.legacy_ssl_support if legacy_ssl_support is None else legacy_ssl_support
        key = (self.verify, bool(legacy), self.prefer_system_certs)
        if key not in _tls_contexts:
            _tls_contexts[key] = super()._make_sslcontext(legacy_ssl_support)
        return _tls_contexts[key]

    def _create_instance(self, proxies, cookiejar, legacy_ssl_support=None):
        opener = super()._create_instance(proxies, cookiejar, legacy_ssl_support)
        opener.add_handler(_CheckProxiedTarget(proxies))
        opener.add_handler(_BoundedDecoding())
        return opener

    def _send(self, request):
        # The same objects, with the capped read(): a second adapter around the same fp
        # would close it when the first one is garbage-collected (io.IOBase.__del__).
        try:
            response = super()._send(request)
        except HTTPError as error:  # extractors read error bodies too
            if isinstance(error.response, UrllibResponseAdapter):
                error.response.__class__ = _PageSizeCapped
            raise
        response.__class__ = _PageSizeCapped
        return response


class GuardedYoutubeDL(yt_dlp.YoutubeDL):
    """YoutubeDL whose HTTP requests all go through the guarded urllib handler.

    yt-dlp would otherwise prefer its requests/urllib3 handler, which opens connections
    without yt-dlp's create_connection. Impersonation needs curl_cffi's handler, which
    connects in C: with YTDLP_IMPERSONATE set, that handler is added and is not guarded
    (docs/security.md: use an egress proxy). It also works on a private copy of the
    operator's cookie jar.
    """

    def __init__(self, params: dict | None = None, auto_init=True):
        if not installed():
            raise BlockedAddress("the connection guard is not installed (manage.py check)")
        # yt-dlp saves its cookie jar back to `cookiefile` on close, with every cookie the
        # sites of the task set: a hostile site could grow the operator's file until its
        # requests fail (431), and two tasks rewriting it at once could corrupt it. Each
        # instance works on a private copy, removed on close; the operator's file is only
        # ever read.
        params = dict(params or {})
        self._private_cookies = None
        if params.get("cookiefile"):
            self._private_cookies = tempfile.TemporaryDirectory(prefix="ytdlphost-cookies-")
            private_copy = Path(self._private_cookies.name) / "cookies.txt"
            try:
                shutil.copyfile(params["cookiefile"], private_copy)
            except OSError as exc:  # yt-dlp too runs without a jar it cannot read
                logger.warning("YTDLP_COOKIES_FILE cannot be read: %s", exc)
            params["cookiefile"] = str(private_copy)
        super().__init__(params, auto_init)

    def close(self):
        try:
            super().close()
        finally:
            if self._private_cookies is not None:
                self._private_cookies.cleanup()
                self._private_cookies = None

    def make_tls_contexts(self) -> None:
        """Make now the TLS contexts that this instance's handlers would make on their
        first request (for the worker's warm-up: GuardedUrllibRH._make_sslcontext)."""
        for handler in self._request_director.handlers.values():
            handler._make_sslcontext()

    @functools.cached_property
    def _request_director(self):
        if answers := self.params.get(ANSWERS_FROM_MEMORY):
            return self.build_request_director([_answering_from(answers)])
        handlers = [GuardedUrllibRH]
        if self.params.get("impersonate"):
            from yt_dlp.networking._curlcffi import CurlCFFIRH

            handlers.append(CurlCFFIRH)
        return self.build_request_director(handlers)


# A YoutubeDL parameter of ours: {url: (content type, body)}. A GuardedYoutubeDL given it
# answers its requests from that, connects nowhere, and fails any other URL: the worker's
# warm-up (ytdlp.warm_up) runs whole extractions with it, with no server.
ANSWERS_FROM_MEMORY = "ytdlphost_answers_from_memory"


class _MemoryRH(RequestHandler):
    """Answers a request from `answers` (see ANSWERS_FROM_MEMORY); never connects."""

    _SUPPORTED_URL_SCHEMES = ("http", "https")
    _SUPPORTED_PROXY_SCHEMES = None
    _SUPPORTED_FEATURES = None
    answers: dict[str, tuple[str, bytes]] = {}

    def _check_extensions(self, extensions):
        extensions.clear()  # timeouts, cookie jars...: nothing to apply them to

    def _send(self, request):
        if request.url not in self.answers:
            raise TransportError(f"{request.url} has no answer in memory")
        content_type, body = self.answers[request.url]
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        return Response(io.BytesIO(body), request.url, headers)


def _answering_from(answers: dict[str, tuple[str, bytes]]) -> type[RequestHandler]:
    # yt-dlp requires a handler's class name to end in RH.
    return type("MemoryRH", (_MemoryRH,), {"answers": answers})


# --- Where ffmpeg may connect ----------------------------------------------------------

# The relay of the download running in this context (downloads_app/egress.py).
_active_relay: contextvars.ContextVar[egress.EgressRelay | None] = contextvars.ContextVar(
    "active_relay", default=None
)

# Protocols ffmpeg may open for a network input: HTTP(S) through the relay (httpproxy is
# its CONNECT for https), AES-128 decryption and data: URIs. Anything else a playlist names
# (file:, rtmp:, udp:, ...) would bypass the relay.
FFMPEG_PROTOCOLS = "http,https,tcp,tls,httpproxy,crypto,data"


# ffmpeg input options for a network input: only the protocols above.
FFMPEG_INPUT_ARGS = ["-protocol_whitelist", FFMPEG_PROTOCOLS]


def ffmpeg_relay_env(relay: egress.EgressRelay, env) -> dict[str, str]:
    """`env` for an ffmpeg whose every HTTP(S) request goes through `relay`.

    ffmpeg reads its proxy from http_proxy when it is given no -http_proxy option; the
    environment keeps the relay's credential off the command line, which any local user
    can read. No other proxy variable is kept, and no no_proxy, with which ffmpeg would
    connect directly to the hosts it names.
    """
    kept = {name: value for name, value in env.items() if not name.lower().endswith("_proxy")}
    return {**kept, "http_proxy": relay.proxy_url}


@contextlib.contextmanager
def relaying_through(relay: egress.EgressRelay):
    """External downloaders started in this block must go through `relay`."""
    token = _active_relay.set(relay)
    try:
        yield relay
    finally:
        _active_relay.reset(token)


class _RelayedPopen(yt_dlp.utils.Popen):
    """The Popen of yt-dlp's external downloaders, so of ffmpeg when it fetches media.

    It refuses to start a downloader without the active relay or with a proxy of its own
    (-http_proxy), gives it the relay as its proxy (ffmpeg_relay_env), and stops it as
    soon as the relay refuses one of its requests: ffmpeg skips an HLS segment it cannot
    fetch, and a recording with holes must not pass for a success.
    """

    def __init__(self, args, *remaining, env=None, **kwargs):
        relay = _active_relay.get()
        if relay is None or "-http_proxy" in args or FFMPEG_PROTOCOLS not in args:
            raise BlockedAddress("an external downloader may only run through the egress relay")
        env = ffmpeg_relay_env(relay, env or os.environ)
        super().__init__(args, *remaining, env=env, **kwargs)
        relay.on_refusal(lambda _message: self.terminate())
        if relay.refusals:  # refused before the listener was in place
            self.terminate()
