#!/usr/bin/env bash
# Runs the whole test suite (setting up first, like run.sh). Extra arguments go to pytest:
#   ./test.sh -k rate_limit      ./test.sh tests/keys_app
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
exec .venv/bin/python -m pytest "$@"
