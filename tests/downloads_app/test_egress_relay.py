"""The egress relay itself (downloads_app/egress.py), started and stopped in this process.
What it lets ffmpeg reach is tested on the real stack (test_egress.py)."""

import socket
import threading

import pytest

from downloads_app.egress import EgressRelay


def test_a_stopped_relay_has_closed_its_port_and_ends_its_thread():
    before = set(threading.enumerate())
    relay = EgressRelay().start()
    (thread,) = [t for t in threading.enumerate() if t not in before and t.name == "EgressRelay"]
    port = int(relay.url.rpartition(":")[2])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # it is listening
    relay.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    thread.join(timeout=10)  # patience: it has returned from serve_forever already
    assert not thread.is_alive()
