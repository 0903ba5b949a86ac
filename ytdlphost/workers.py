"""gunicorn's worker for ytdlphost: uvicorn's (the `uvicorn-worker` package) on uvloop and
httptools, which also tells the long polls of ytdlphost/fast_path.py that it is stopping,
so they answer at once rather than hold the stop up for as long as their `wait`."""

import asyncio
import logging

from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from ytdlphost import fast_path
from ytdlphost.logging import RedactTaskIdsInPaths
from ytdlphost.slow_clients import SlowClientProtocol


class StoppingServer(Server):
    def __init__(self, *args, loop: asyncio.AbstractEventLoop, **kwargs):
        super().__init__(*args, **kwargs)
        self.loop = loop

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        # A signal handler: the event loop's own thread, but between two of its steps.
        self.loop.call_soon_threadsafe(fast_path.shutting_down().set)


class APIWorker(UvicornWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # uvicorn writes the access log itself, past gunicorn's AccessLogger: task ids
        # are cut short there too (they are the secret of /files URLs).
        logging.getLogger("uvicorn.access").addFilter(RedactTaskIdsInPaths())

    CONFIG_KWARGS = {
        "loop": "uvloop",
        # httptools, with deadlines for slow clients (ytdlphost/slow_clients.py).
        "http": SlowClientProtocol,
        # Requests still running this long after the stop signal are cancelled.
        "timeout_graceful_shutdown": 10,
    }

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = StoppingServer(config=self.config, loop=asyncio.get_running_loop())
        self._install_sigquit_handler()
        # The sockets themselves, not gunicorn's wrappers of them: uvloop closes a
        # listening socket it was given when the server stops, and detaches a
        # socket.socket from its descriptor as it does so; a wrapper it can only close
        # again, after the descriptor is gone, and gunicorn logged "Error while closing
        # socket [Errno 9] Bad file descriptor" on every stop.
        await server.serve(sockets=[listener.sock for listener in self.sockets])
        if not server.started:
            import sys

            from gunicorn.arbiter import Arbiter

            sys.exit(Arbiter.WORKER_BOOT_ERROR)
