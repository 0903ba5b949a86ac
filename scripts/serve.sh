#!/usr/bin/env bash
# Runs gunicorn and the django-q2 cluster side by side; when either stops, stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

# yt-dlp looks for its JavaScript runtime (deno, from requirements.txt) on PATH.
export PATH="$PWD/.venv/bin:$PATH"
PORT=${PORT:-5000}

.venv/bin/python manage.py qcluster &
cluster=$!
# Bind address, workers, threads, timeouts and logs: gunicorn.conf.py, read from here.
.venv/bin/gunicorn ytdlphost.wsgi &
web=$!

stop() { kill -TERM "$web" "$cluster" 2>/dev/null || true; }
trap stop INT TERM
echo "[serve] ytdlphost on http://localhost:${PORT} (web pid $web, cluster pid $cluster)" >&2
wait -n "$web" "$cluster" || true
stop
wait
