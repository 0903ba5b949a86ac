#!/usr/bin/env bash
# Container entrypoint: migrate (which also seeds the admin key and the cleanup schedule),
# then run the role given: `web` (gunicorn) or `worker` (django-q2 cluster). Anything
# else is run as a command. Works on a host too, from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
if [ -x .venv/bin/python ] && ! command -v gunicorn >/dev/null 2>&1; then
  PYTHON=.venv/bin/python
  export PATH="$PWD/.venv/bin:$PATH"
fi

role=${1:-web}
case "$role" in
  web)
    "$PYTHON" manage.py migrate --noinput
    exec gunicorn ytdlphost.wsgi:application --bind "0.0.0.0:${PORT:-5000}" \
      --workers "${WEB_WORKERS:-2}" --threads "${WEB_THREADS:-8}" --worker-class gthread \
      --access-logfile -
    ;;
  worker)
    "$PYTHON" manage.py migrate --noinput
    exec "$PYTHON" manage.py qcluster
    ;;
  *)
    exec "$@"
    ;;
esac
