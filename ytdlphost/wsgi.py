"""The WSGI application (gunicorn runs `ytdlphost.wsgi`; see gunicorn.conf.py)."""

import os

from django.core.wsgi import get_wsgi_application

from ytdlphost import state

state.load_env_file()  # .env, before anything reads the environment
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ytdlphost.settings")
state.prepare()  # DATA_DIR, DOWNLOAD_DIR and the secret key, before settings are read

application = get_wsgi_application()
