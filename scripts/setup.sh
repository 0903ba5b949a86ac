#!/usr/bin/env bash
# Installs what ytdlphost needs, idempotently: ffmpeg (apt-get, when running as root)
# and a virtualenv in .venv with $YTDLPHOST_REQUIREMENTS (requirements.txt, the service;
# ./test.sh sets requirements-dev.txt, the service plus the test tools).
# Sourced by ./run.sh and ./test.sh; safe to run any number of times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    say "missing: $* — install it with: sudo apt-get install -y $*  (then run this again)"
    exit 1
  fi
  say "installing $* with apt-get"
  if [ -z "${YTDLPHOST_APT_UPDATED:-}" ]; then
    apt-get update -qq
    export YTDLPHOST_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  apt_install python3 python3-venv
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  say "ytdlphost needs Python 3.10 or newer (3.11 recommended); $PYTHON is $("$PYTHON" --version)"
  exit 1
fi

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  apt_install ffmpeg
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    py_minor=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install "python${py_minor}-venv"
    "$PYTHON" -m venv .venv
  fi
fi

# Reinstall only when the requirements changed since the last successful install of
# that file (requirements-dev.txt includes requirements.txt, so both are hashed).
requirements=${YTDLPHOST_REQUIREMENTS:-requirements.txt}
stamp=.venv/.installed-${requirements%.txt}.sha256
wanted=$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  say "installing Python packages from $requirements into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi
