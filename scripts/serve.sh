#!/usr/bin/env bash
# Runs gunicorn and the django-q2 cluster side by side; when either stops, or on Ctrl-C,
# SIGTERM or a hang-up, stops both (in about 2 s: running downloads are interrupted and
# run again after the next start, as after a crash).
set -euo pipefail
cd "$(dirname "$0")/.."

# yt-dlp looks for its JavaScript runtime (deno, from requirements.txt) on PATH.
export PATH="$PWD/.venv/bin:$PATH"
# The port, as gunicorn.conf.py reads it: from the environment, or else .env.
port=$(.venv/bin/python -c 'import os; from ytdlphost import state; state.load_env_file(); print(os.environ.get("PORT", "5000"))')

# Each server in a session of its own, so that a Ctrl-C reaches this script only and each
# server gets exactly one signal, from stop(). A terminal signals its whole process group:
# on top of the signal its parent forwards, a second one re-enters the servers' signal
# handlers, which then deadlock on a lock they hold (gunicorn's gthread worker in
# ThreadPoolExecutor.shutdown, SIGKILLed by the master after graceful_timeout; django-q2's
# Cluster.stop in Event.set, for good).
setsid .venv/bin/python manage.py qcluster &
cluster=$!
# Bind address, workers, threads, timeouts and logs: gunicorn.conf.py, read from here.
setsid .venv/bin/gunicorn &
web=$!

stopping=
stop() {
  if [ -n "$stopping" ]; then return; fi
  stopping=1
  # gunicorn's graceful stop: requests in flight finish, kept-alive connections close.
  kill -TERM "$web" 2>/dev/null || true
  # The cluster's group, as a terminal's Ctrl-C would: the main process stops the
  # cluster and each worker interrupts its running task (downloads_app/supervisor.py).
  kill -INT -- "-$cluster" 2>/dev/null || true
}
trap stop INT TERM HUP
echo "[serve] ytdlphost on http://localhost:${port} (web pid $web, cluster pid $cluster)" >&2
wait -n "$web" "$cluster" || true
stop
wait
