"""Serves the tests' synthetic media until stopped, for checks that run outside pytest.

    python -m tests.support.serve_media [--host 127.0.0.1] PORT_FILE

Generates the media into the same cache as the pytest fixtures (tests/support/
media_fixtures.py), starts a MediaServer on `--host` with an ephemeral port, writes the port
to PORT_FILE once it answers, and serves until SIGTERM or SIGINT.
scripts/container-check.sh uses it: containers download from it like the tests do.
"""

import argparse
import signal
import threading
from pathlib import Path

from tests.support.media_files import generate_media
from tests.support.media_fixtures import MEDIA_CACHE_DIR
from tests.support.media_server import MediaServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("port_file", type=Path)
    args = parser.parse_args()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    generate_media(MEDIA_CACHE_DIR)
    with MediaServer(MEDIA_CACHE_DIR, host=args.host) as server:
        args.port_file.write_text(f"{server.port}\n")
        stop.wait()


if __name__ == "__main__":
    main()
