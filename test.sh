#!/usr/bin/env bash
# Runs the whole test suite (setting up first, like run.sh). Extra arguments go to pytest:
#   ./test.sh -k rate_limit      ./test.sh tests/keys_app      ./test.sh -n 0 --pdb
set -euo pipefail
cd "$(dirname "$0")"
YTDLPHOST_REQUIREMENTS=requirements-dev.txt source scripts/setup.sh
# The web page's browser tests drive Debian's Chromium (tests/page_app/test_browser.py):
# installed here when missing and running as root; otherwise those tests skip, saying so
# (under CI=true they fail instead).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt_install chromium
  else
    say "chromium missing: the browser tests will skip (sudo apt-get install -y chromium, or run ./test.sh as root)"
  fi
fi
# Several pytest processes (pytest-xdist; pyproject.toml hands each a whole module): most of
# the suite's time is end-to-end tests waiting on their gunicorn + qcluster stacks, and
# those waits overlap. More processes than cores on purpose; YTDLPHOST_TEST_PROCESSES=0
# runs everything in this one process (so does an -n given here, which wins).
exec .venv/bin/python -m pytest -n "${YTDLPHOST_TEST_PROCESSES:-3}" "$@"
