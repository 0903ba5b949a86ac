#!/bin/sh
# Entrypoint of the stand-in for the `redis` image (scripts/container-check.sh builds it
# from Debian's redis-server package): like the official image, `redis-server` without a
# configuration file runs as the redis user in /data with protected mode off (the server
# is reached from other containers), and other commands run as given.
set -eu
if [ "${1:-}" = redis-server ]; then
  chown -R redis:redis /data
  case "${2:-}" in
    */*.conf) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  exec setpriv --reuid=redis --regid=redis --init-groups -- "$@"
fi
exec "$@"
