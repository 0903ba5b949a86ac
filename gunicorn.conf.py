"""The web server's settings, in one place.

gunicorn reads ./gunicorn.conf.py from its working directory. run.sh (scripts/serve.sh),
the Docker entrypoint, the Procfile and the tests' LiveStack all run plain `gunicorn`
from here (the application is named below) and differ in nothing else; what varies between
installations comes from the environment or .env (README, Configuration).
"""

import os
import signal

from ytdlphost import state

# .env also holds the web server's settings below (PORT, WEB_WORKERS...).
state.load_env_file()

# Loopback unless told otherwise: exposed to a network, the service belongs behind a
# reverse proxy (docs/production.md). The image sets BIND=0.0.0.0.
bind = f"{os.environ.get('BIND', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
# ASGI under uvicorn's event loop: an idle or slow connection and a long poll
# (`?wait=S`) cost a coroutine, not a thread, so neither can starve the others. The hot
# GETs' database work and Django's views run on WEB_THREADS threads per process
# (ytdlphost/fast_path.py, where bench/status.py's figures justify it), which no client
# can hold: bodies are read, and answers sent, by the event loop, with deadlines
# (ytdlphost/slow_clients.py).
wsgi_app = "ytdlphost.asgi:application"
worker_class = "ytdlphost.workers.APIWorker"
# Seconds an idle keep-alive connection stays open.
keepalive = 5
# A stopping worker finishes the requests it is serving, for at most this long.
graceful_timeout = 30


def post_worker_init(worker):
    """Workers stop on their master's signal only. Ctrl-C in a terminal also reaches every
    worker directly, and gthread's handler, run a second time on top of the master's
    SIGQUIT, can deadlock on the thread pool's lock: the master then SIGKILLs the worker
    after graceful_timeout ("was sent SIGKILL! Perhaps out of memory?")."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Workers' heartbeat files on tmpfs where there is one (a container's overlay disk can
# stall them, and gunicorn then kills healthy workers).
# gunicorn creates its own unpredictably named files there.
SHARED_MEMORY = "/dev/shm"  # noqa: S108
if os.path.isdir(SHARED_MEMORY) and os.access(SHARED_MEMORY, os.W_OK):
    worker_tmp_dir = SHARED_MEMORY

# The access log on stdout, with task ids cut short (they are the secret of /files URLs).
accesslog = "-"
logger_class = "ytdlphost.access_log.AccessLogger"
