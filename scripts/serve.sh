#!/usr/bin/env bash
# Runs gunicorn and the django-q2 cluster side by side; when either stops, stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

# yt-dlp looks for its JavaScript runtime (deno, from requirements.txt) on PATH.
export PATH="$PWD/.venv/bin:$PATH"
PORT=${PORT:-5000}
WEB_WORKERS=${WEB_WORKERS:-2}
WEB_THREADS=${WEB_THREADS:-8}

.venv/bin/python manage.py qcluster &
cluster=$!
# The access log is configured in gunicorn.conf.py, which gunicorn reads from here.
.venv/bin/gunicorn ytdlphost.wsgi:application \
  --bind "${BIND:-0.0.0.0}:${PORT}" --workers "$WEB_WORKERS" --threads "$WEB_THREADS" \
  --worker-class gthread --graceful-timeout 30 &
web=$!

stop() { kill -TERM "$web" "$cluster" 2>/dev/null || true; }
trap stop INT TERM
echo "[serve] ytdlphost on http://localhost:${PORT} (web pid $web, cluster pid $cluster)" >&2
wait -n "$web" "$cluster" || true
stop
wait
