"""The WSGI application (gunicorn runs `ytdlphost.wsgi`; see gunicorn.conf.py)."""

import os

from django.core.wsgi import get_wsgi_application

from ytdlphost import state

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ytdlphost.settings")
state.prepare()  # DATA_DIR, DOWNLOAD_DIR and the secret key, before settings are read

application = get_wsgi_application()
