#!/usr/bin/env bash
# Runs the whole test suite (setting up first, like run.sh). Extra arguments go to pytest:
#   ./test.sh -k rate_limit      ./test.sh tests/keys_app      ./test.sh -n 0 --pdb
set -euo pipefail
cd "$(dirname "$0")"
YTDLPHOST_REQUIREMENTS=requirements-dev.txt source scripts/setup.sh
# Tools that some tests drive, from Debian: chromium for the web page's browser tests
# (tests/page_app/browser/), shellcheck for the container's entrypoint
# (tests/deploy/test_entrypoint.py). Installed here when missing and running as root;
# otherwise those tests skip, saying so (under CI=true the browser tests fail instead).
for tool in chromium shellcheck; do
  if ! command -v "$tool" >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
      apt_install "$tool"
    else
      say "$tool missing: the tests that need it will skip (sudo apt-get install -y $tool, or run ./test.sh as root)"
    fi
  fi
done
# Several pytest processes (pytest-xdist; pyproject.toml hands each a whole module): most of
# the suite's time is end-to-end tests waiting on their gunicorn + qcluster stacks, on
# live recordings and timeouts, and those waits overlap. Three, also on CI's 2 cores: the
# processes keep the cores busy for well under half of a run (tests/README.md).
# YTDLPHOST_TEST_PROCESSES=0 runs everything in this one process (so does an -n given
# here, which wins).
exec .venv/bin/python -m pytest -n "${YTDLPHOST_TEST_PROCESSES:-3}" "$@"
