"""The egress relay itself (downloads_app/egress.py), in this process, facing hostile bytes:
malformed or smuggling requests from whoever reaches its loopback port, and malformed
answers from an allowed server. The hostile server on 127.0.0.2 is allowed; the canary on
127.0.0.1 stands for the internal network. test_egress.py drives the relay through ffmpeg
on the real stack."""

import base64
import socket
import socketserver
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import requests

from downloads_app.egress import EgressRelay
from tests.support.hostile import HOSTILE_HOST, ForwardProxy, Reply

PATIENCE = 30  # seconds a test's own client waits for the relay: never reached when it works


@pytest.fixture
def relay(settings):
    settings.ALLOW_PRIVATE_URLS = False
    settings.ALLOWED_PRIVATE_NETWORKS = [f"{HOSTILE_HOST}/32"]
    with EgressRelay() as running:
        yield running


def authorization(relay: EgressRelay) -> str:
    proxy = urlsplit(relay.proxy_url)
    credential = f"{proxy.username}:{proxy.password}".encode()
    return "Basic " + base64.b64encode(credential).decode()


def exchange(relay: EgressRelay, raw: bytes) -> bytes:
    """Everything the relay answers to `raw` before it closes the connection."""
    port = urlsplit(relay.proxy_url).port
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def get(relay: EgressRelay, url: str, *headers: str) -> bytes:
    """A GET of `url` through the relay, with its credential, as raw bytes."""
    lines = [
        f"GET {url} HTTP/1.1",
        f"Host: {urlsplit(url).netloc}",
        f"Proxy-Authorization: {authorization(relay)}",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def raw_answer(raw: bytes) -> Reply:
    """An upstream answer of exactly these bytes, whatever HTTP says."""

    def write(handler) -> None:
        handler.wfile.write(raw)
        handler.close_connection = True

    return Reply(body=write)


def test_a_request_with_the_credential_is_relayed(relay, hostile):
    url = hostile.route("/relayed", Reply("hello"))
    response = requests.get(url, proxies={"http": relay.proxy_url}, timeout=PATIENCE)
    assert (response.status_code, response.text) == (200, "hello")


def test_a_request_without_the_credential_is_asked_for_it_and_not_relayed(relay, hostile):
    url = hostile.route("/stranger", Reply("hello"))
    answer = exchange(relay, f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status_of(answer) == 407
    assert b"Proxy-Authenticate: Basic" in answer
    assert hostile.count("/stranger") == 0
    assert relay.refusals == []


def test_an_internal_target_is_refused_and_the_refusal_counted(relay, canary):
    before = len(canary.records())
    answer = exchange(relay, get(relay, canary.url("progressive.mp4")))
    assert status_of(answer) == 403
    assert len(relay.refusals) == 1
    assert len(canary.records()) == before


@pytest.mark.parametrize(
    "malformed",
    [
        pytest.param("GET {url}\r\n", id="a request line without a version"),
        pytest.param("GET {url} HTTP/1.1\r\nX-A: 1\rX-Smuggled: yes\r\n", id="a bare CR"),
        pytest.param("GET {url} HTTP/1.1\r\nHost : x\r\n", id="a space before the colon"),
        pytest.param("GET {url} HTTP/1.1\r\nX-A: 1\x00\r\n", id="a NUL in a value"),
    ],
)
def test_a_malformed_request_head_is_answered_400_and_not_relayed(relay, hostile, malformed):
    url = hostile.route("/malformed", Reply("hello"))
    head = malformed.format(url=url) + f"Proxy-Authorization: {authorization(relay)}\r\n\r\n"
    answer = exchange(relay, head.encode("latin-1"))
    assert status_of(answer) == 400
    assert hostile.count("/malformed") == 0


def test_a_folded_header_line_does_not_become_a_header_of_its_own(relay, hostile):
    url = hostile.route("/folded", Reply("hello"))
    answer = exchange(relay, get(relay, url, "X-A: 1", " X-Smuggled: yes"))
    assert status_of(answer) == 200
    ((path, headers),) = [seen for seen in hostile.request_headers if seen[0] == "/folded"]
    assert "X-Smuggled" not in headers


def test_a_head_of_100_mb_is_cut_off_long_before_its_end(relay, hostile):
    url = hostile.route("/huge-head", Reply("hello"))
    port = urlsplit(relay.proxy_url).port
    line = b"X-Padding: " + b"x" * 65536 + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as connection:
        try:
            connection.sendall(get(relay, url)[:-2])  # the head, left open
            while sent < 100 * 1024**2:
                connection.sendall(line)
                sent += len(line)
        except OSError:
            pass  # the relay hung up: the point
    assert sent < 50 * 1024**2  # what socket buffers took in before the relay hung up
    assert hostile.count("/huge-head") == 0


def test_a_pipelined_second_request_is_never_relayed(relay, hostile, canary):
    url = hostile.route("/first", Reply("hello"))
    before = len(canary.records())
    answer = exchange(relay, get(relay, url) + get(relay, canary.url("progressive.mp4")))
    assert status_of(answer) == 200 and answer.endswith(b"hello")
    assert answer.count(b"HTTP/1.1 ") == 1
    assert len(canary.records()) == before
    assert relay.refusals == []


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param(["Transfer-Encoding: chunked"], id="chunked"),
        pytest.param(["Content-Length: 5"], id="a length"),
        pytest.param(["Content-Length: 5", "Transfer-Encoding: chunked"], id="both"),
    ],
)
def test_a_request_with_a_body_is_refused_rather_than_forwarded_without_it(
    relay, hostile, canary, framing
):
    # ffmpeg sends no body. Forwarding the framing without the body would leave the
    # upstream waiting for it, or reading the next bytes as one.
    url = hostile.route("/with-body", Reply("hello"))
    smuggled = get(relay, canary.url("progressive.mp4"))
    body = b"0\r\n\r\n" + smuggled
    before = len(canary.records())
    answer = exchange(relay, get(relay, url, *framing) + body)
    assert status_of(answer) == 400
    assert hostile.count("/with-body") == 0
    assert len(canary.records()) == before


def test_a_malformed_upstream_answer_is_a_502(relay, hostile):
    url = hostile.route("/garbage", raw_answer(b"garbage\r\nX-A: 1\r\n\r\nbody"))
    answer = exchange(relay, get(relay, url))
    assert status_of(answer) == 502


def test_an_upstream_answer_with_a_bare_cr_in_a_header_is_a_502(relay, hostile):
    raw = b"HTTP/1.1 200 OK\r\nX-A: 1\rSet-Cookie: injected=1\r\nContent-Length: 2\r\n\r\nok"
    url = hostile.route("/bare-cr", raw_answer(raw))
    answer = exchange(relay, get(relay, url))
    head, _, _ = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 502
    assert b"injected" not in head


def test_an_early_hints_answer_is_followed_by_the_final_one(relay, hostile):
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    raw = hints + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    url = hostile.route("/early-hints", raw_answer(raw))
    response = requests.get(url, proxies={"http": relay.proxy_url}, timeout=PATIENCE)
    assert (response.status_code, response.text) == (200, "hello")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", id="chunked"),
        pytest.param(b"Connection: close\r\n\r\nhello", id="until closed"),
        pytest.param(b"Content-Length: 5\r\n\r\nhello", id="a length"),
    ],
)
def test_an_upstream_body_reaches_the_client_whole_however_it_is_framed(relay, hostile, raw):
    url = hostile.route("/framed", raw_answer(b"HTTP/1.1 200 OK\r\n" + raw))
    response = requests.get(url, proxies={"http": relay.proxy_url}, timeout=PATIENCE)
    assert (response.status_code, response.text) == (200, "hello")


def test_a_head_request_gets_the_upstreams_length_and_no_body(relay, hostile):
    url = hostile.route("/head", Reply("hello"))
    response = requests.head(url, proxies={"http": relay.proxy_url}, timeout=PATIENCE)
    assert (response.status_code, response.headers["Content-Length"]) == (200, "5")


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@contextmanager
def tcp_server(handler: type[socketserver.BaseRequestHandler]):
    """A server of `handler` on the hostile address, serving until the block ends."""
    with socketserver.ThreadingTCPServer((HOSTILE_HOST, 0), handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield server
        finally:
            server.shutdown()


@pytest.fixture
def echo():
    with tcp_server(_Echo) as server:
        yield f"{HOSTILE_HOST}:{server.server_address[1]}"


def connect(relay: EgressRelay, target: str) -> bytes:
    return (
        f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        f"Proxy-Authorization: {authorization(relay)}\r\n\r\n"
    ).encode()


def ping_through_a_tunnel(relay: EgressRelay, echo: str) -> bytes:
    """What comes back from a CONNECT to the `echo` server with "ping" sent right behind
    the request: the relay's answer, then the echoed ping."""
    port = urlsplit(relay.proxy_url).port
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as connection:
        connection.sendall(connect(relay, echo) + b"ping")
        received = b""
        while not received.endswith(b"ping"):
            chunk = connection.recv(65536)
            assert chunk, f"the tunnel closed after {received!r}"
            received += chunk
    return received


def test_a_connect_tunnel_carries_bytes_sent_right_behind_the_request(relay, echo):
    assert status_of(ping_through_a_tunnel(relay, echo)) == 200


def test_a_connect_tunnel_to_an_internal_host_is_refused_and_counted(relay, canary):
    before = len(canary.records())
    answer = exchange(relay, connect(relay, urlsplit(canary.url("")).netloc))
    assert status_of(answer) == 403
    assert len(relay.refusals) == 1
    assert len(canary.records()) == before


class _ConnectingProxy(socketserver.BaseRequestHandler):
    """An upstream proxy that accepts a CONNECT and then echoes what the tunnel carries;
    `server.heads` keeps the heads it was sent."""

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.request.recv(65536)
        head, _, early = head.partition(b"\r\n\r\n")
        self.server.heads.append(head.decode())
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n" + early)
        while data := self.request.recv(65536):
            self.request.sendall(data)


def test_a_connect_tunnel_goes_through_the_upstream_proxy_after_the_check(settings, echo):
    settings.ALLOW_PRIVATE_URLS = False
    settings.ALLOWED_PRIVATE_NETWORKS = [f"{HOSTILE_HOST}/32"]
    with tcp_server(_ConnectingProxy) as proxy:
        proxy.heads = []
        address = f"http://user:secret@{HOSTILE_HOST}:{proxy.server_address[1]}"
        with EgressRelay(address) as relay:
            received = ping_through_a_tunnel(relay, echo)
    assert status_of(received) == 200
    (head,) = proxy.heads
    assert head.startswith(f"CONNECT {echo} HTTP/1.1\r\n")
    assert "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=" in head


@pytest.mark.parametrize(
    "disguise",
    [
        pytest.param("{allowed}#@{internal}/", id="a fragment before an @"),
        pytest.param("{internal}\\@{allowed}/", id="a backslash before an @"),
    ],
)
def test_the_upstream_proxy_is_asked_for_the_host_that_was_checked(
    settings, hostile, canary, disguise
):
    # The relay checks the host as Python reads the URL; a proxy that read the raw target
    # another way could fetch another host: it is given the URL rebuilt from what was checked.
    settings.ALLOW_PRIVATE_URLS = False
    settings.ALLOWED_PRIVATE_NETWORKS = [f"{HOSTILE_HOST}/32"]
    allowed, internal = urlsplit(hostile.url("")).netloc, urlsplit(canary.url("")).netloc
    url = "http://" + disguise.format(allowed=allowed, internal=internal)
    with ForwardProxy() as proxy, EgressRelay(proxy.base_url) as relay:
        exchange(relay, get(relay, url))
        checked = urlsplit(url).hostname
        assert proxy.requested == [f"http://{checked}:{urlsplit(url).port}/"]


def test_an_http_1_0_request_without_host_is_relayed_with_the_checked_host(relay, hostile):
    url = hostile.route("/old-client", Reply("hello"))
    head = f"GET {url} HTTP/1.0\r\nProxy-Authorization: {authorization(relay)}\r\n\r\n"
    answer = exchange(relay, head.encode())
    assert status_of(answer) == 200 and answer.endswith(b"hello")
    ((path, headers),) = [seen for seen in hostile.request_headers if seen[0] == "/old-client"]
    assert headers["Host"] == urlsplit(url).netloc


def test_a_stopped_relay_has_closed_its_port_and_ends_its_thread():
    before = set(threading.enumerate())
    relay = EgressRelay().start()
    (thread,) = [t for t in threading.enumerate() if t not in before and t.name == "EgressRelay"]
    port = urlsplit(relay.proxy_url).port
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # it is listening
    relay.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    thread.join(timeout=10)  # patience: it has returned from serve_forever already
    assert not thread.is_alive()
