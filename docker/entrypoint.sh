#!/usr/bin/env bash
# Entrypoint of the ytdlphost image; works from a checkout too (it then uses .venv).
#
#   web      migrate (tables, the `admin` key and the cleanup schedule: our migrate does
#            all three), then gunicorn on ${BIND}:${PORT} (the image sets 0.0.0.0:5000)
#   worker   wait until the database is migrated, then the django-q2 cluster
#   other    run as a command, e.g. `python manage.py createsuperuser`
#
# Only `web` migrates: web and workers that start together (docker compose up, a first
# start on an empty SQLite database) never run two migrations at once. A worker waits up
# to MIGRATION_WAIT_TIMEOUT seconds (default 600), then exits non-zero so that its
# restart policy tries again.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

say() { printf '[entrypoint] %s\n' "$*" >&2; }

# A checkout has its virtualenv in .venv; the image installs into the system Python
# (and .dockerignore keeps any .venv out of it).
if [ -x .venv/bin/python ]; then
  export PATH="$PWD/.venv/bin:$PATH"
fi

# While this script runs (before exec), stop at once on SIGTERM/SIGINT, also as PID 1,
# where signals without a handler are ignored. Children run in the background so that
# the trap is not delayed until they finish.
child=
on_signal() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
  fi
  exit 143
}
trap on_signal TERM INT
run() {
  local status=0
  "$@" &
  child=$!
  wait "$child" || status=$?
  child=
  return "$status"
}

# `migrate --check` fails while migrations are unapplied, and also while the database
# cannot be reached: both mean wait. Every 30 s its last error line, if any, is logged,
# so that a wait that is not for web's migration shows why.
wait_for_migrations() {
  local timeout=${MIGRATION_WAIT_TIMEOUT:-600} output last
  local deadline=$((SECONDS + timeout)) next_report=$SECONDS waited=
  until output=$(run python manage.py migrate --check --noinput 2>&1); do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "the database is still not migrated after ${timeout}s${output:+; the last check said:}"
      if [ -n "$output" ]; then
        printf '%s\n' "$output" >&2
      fi
      exit 1
    fi
    if [ "$SECONDS" -ge "$next_report" ]; then
      last=$(printf '%s\n' "$output" | grep -v '^[[:space:]]' | tail -n 1 || true)
      say "waiting for the web service to migrate the database${last:+ (last check: $last)}"
      next_report=$((SECONDS + 30))
    fi
    waited=1
    run sleep 3
  done
  if [ -n "$waited" ]; then
    say "the database is migrated"
  fi
}

role=${1:-web}
case "$role" in
  web)
    run python manage.py migrate --noinput
    # Bind address, workers, threads, timeouts and logs: gunicorn.conf.py, read from here.
    exec gunicorn
    ;;
  worker)
    wait_for_migrations
    exec python manage.py qcluster
    ;;
  *)
    exec "$@"
    ;;
esac
