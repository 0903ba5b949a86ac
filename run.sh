#!/usr/bin/env bash
# Quick start: set everything up, then run the whole service on http://localhost:$PORT
# (default 5000): gunicorn for the API and a django-q2 cluster for the downloads.
# State (SQLite database, downloads, generated SECRET_KEY) lives in $DATA_DIR (./data).
# Settings come from the environment, or from .env (see .env.example).
# Ctrl-C stops both. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

.venv/bin/python manage.py migrate --noinput  # also seeds the admin key on first start
.venv/bin/python manage.py check --fail-level ERROR
.venv/bin/python manage.py ensure_admin_user  # the admin login, when ADMIN_USER/ADMIN_PASSWORD are set
exec scripts/serve.sh
