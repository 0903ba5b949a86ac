#!/usr/bin/env bash
# Runs the whole test suite (setting up first, like run.sh). Extra arguments go to pytest:
#   ./test.sh -k rate_limit      ./test.sh tests/keys_app
set -euo pipefail
cd "$(dirname "$0")"
YTDLPHOST_REQUIREMENTS=requirements-dev.txt source scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
