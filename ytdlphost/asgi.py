"""The ASGI application gunicorn runs (gunicorn.conf.py): Django behind the fast routes and
long polls of ytdlphost/fast_path.py, all behind the request rules of
ytdlphost/request_guard.py.

Django itself runs as a WSGI application on a pool of WEB_THREADS threads (slow_clients.py), not
through Django's ASGI handler: that one runs every sync view of a process on a single
thread, which made /tasks, /files and /healthz 3 to 6 times slower than gthread
(bench/status.py). A sync view on a thread is what gthread did, minus the thread per
connection."""

import os

from django.core.wsgi import get_wsgi_application

from ytdlphost import state

state.load_env_file()  # .env, before anything reads the environment
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ytdlphost.settings")
state.prepare()  # DATA_DIR, DOWNLOAD_DIR and the secret key, before settings are read

django_application = get_wsgi_application()  # sets Django up: the apps register routes

from ytdlphost.fast_path import Application  # noqa: E402  (needs the settings)
from ytdlphost.request_guard import RequestGuard  # noqa: E402

# The guard first: its rules (ALLOWED_HOSTS, one X-API-Key) hold for every route.
application = RequestGuard(Application(django_application))
