#!/bin/sh
# Entrypoint of the stand-in for the `postgres` image (scripts/container-check.sh builds it
# from Debian's postgresql package): what docker-compose.yml relies on of the official
# image. On an empty $PGDATA it creates the cluster with POSTGRES_USER (a superuser, with
# POSTGRES_PASSWORD) and POSTGRES_DB, then runs `postgres` as the postgres user, listening
# on every address with password authentication from the network.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"

if [ "${1:-}" = postgres ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    chown postgres "$password_file"
    setpriv --reuid=postgres --regid=postgres --init-groups -- initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$password_file" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
      setpriv --reuid=postgres --regid=postgres --init-groups -- postgres --single -D "$PGDATA" postgres >/dev/null <<SQL
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
SQL
    fi
    echo "stand-in postgres: created the cluster in $PGDATA"
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" -D "$PGDATA"
fi
exec "$@"
