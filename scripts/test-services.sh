#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the tests that run the stack on them
# (tests/e2e/test_scale_out.py, the PostgreSQL + Redis half of tests/e2e/test_published_client.py).
#
#   eval "$(scripts/test-services.sh start)"   # exports TEST_POSTGRES_URL and TEST_REDIS_URL
#   ./test.sh
#   scripts/test-services.sh stop              # stops both and deletes their data
#
# Both listen on 127.0.0.1 only, on free non-default ports, with their data in
# $YTDLPHOST_SERVICES_DIR (default /tmp/ytdlphost-test-services): nothing of the machine's
# own PostgreSQL or Redis is used or touched. Tuned for tests, not for keeping data (no
# fsync, no Redis persistence). `start` installs the Debian packages postgresql and
# redis-server when missing (as root; otherwise it says what to install), is idempotent
# (running servers are reused) and prints the export lines on stdout, everything else on
# stderr. `env` prints the export lines of running servers; `status` exits 0 when both run.
set -euo pipefail

STATE=${YTDLPHOST_SERVICES_DIR:-/tmp/ytdlphost-test-services}
PG_DATA=$STATE/postgres
PG_SOCKETS=$STATE/postgres-sockets
REDIS_DIR=$STATE/redis
ENV_FILE=$STATE/env
DB_USER=ytdlphost
DB_NAME=ytdlphost

say() { printf '[test-services] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

install_missing() {
  local missing=()
  [ -n "$(pg_bindir)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  [ ${#missing[@]} -eq 0 ] && return
  is_root || die "missing: ${missing[*]} — install with: sudo apt-get install -y ${missing[*]}"
  say "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# Runs a PostgreSQL program as an unprivileged user: initdb and postgres refuse root.
as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_running() { [ -f "$PG_DATA/PG_VERSION" ] && as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
redis_running() {
  [ -f "$STATE/redis_port" ] &&
    redis-cli -h 127.0.0.1 -p "$(cat "$STATE/redis_port")" ping 2>/dev/null | grep -q PONG
}

start_postgres() {
  local bin port password
  bin=$(pg_bindir)
  if pg_running; then
    return
  fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    rm -rf "$PG_DATA" "$PG_SOCKETS"
    mkdir -p "$PG_DATA" "$PG_SOCKETS"
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$password" >"$STATE/pg_password"
    chmod 600 "$STATE/pg_password"
    if is_root; then
      chown postgres: "$PG_DATA" "$PG_SOCKETS"
    fi
    say "initdb in $PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    free_port >"$STATE/pg_port"
  fi
  port=$(cat "$STATE/pg_port")
  say "starting PostgreSQL on 127.0.0.1:$port"
  as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $PG_SOCKETS -c max_connections=300 \
     -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null ||
    die "PostgreSQL did not start; see $PG_DATA/server.log"
  password=$(cat "$STATE/pg_password")
  # Idempotent: the role and database are created once, on the first start.
  as_pg "$bin/psql" -h "$PG_SOCKETS" -p "$port" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 \
    -v user="$DB_USER" -v password="$password" -v db="$DB_NAME" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
}

start_redis() {
  local port
  if redis_running; then
    return
  fi
  mkdir -p "$REDIS_DIR"
  free_port >"$STATE/redis_port"
  port=$(cat "$STATE/redis_port")
  say "starting Redis on 127.0.0.1:$port"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save "" --appendonly no \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --databases 16 >/dev/null
  for _ in $(seq 50); do
    redis_running && return
    sleep 0.1
  done
  die "Redis did not start; see $REDIS_DIR/redis.log"
}

print_env() {
  pg_running && redis_running || die "not running; start them with: $0 start"
  local url
  url="postgres://$DB_USER:$(cat "$STATE/pg_password")@127.0.0.1:$(cat "$STATE/pg_port")/$DB_NAME"
  {
    echo "export TEST_POSTGRES_URL='$url'"
    echo "export TEST_REDIS_URL='redis://127.0.0.1:$(cat "$STATE/redis_port")/0'"
  } >"$ENV_FILE"
  cat "$ENV_FILE"
}

stop() {
  local bin
  bin=$(pg_bindir)
  if [ -n "$bin" ] && pg_running; then
    say "stopping PostgreSQL"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
  fi
  if redis_running; then
    say "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$(cat "$STATE/redis_port")" shutdown nosave >/dev/null 2>&1 || true
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  start)
    install_missing
    mkdir -p "$STATE"
    chmod 755 "$STATE"  # the postgres user must reach its data directory
    start_postgres
    start_redis
    print_env
    ;;
  env) print_env ;;
  status) pg_running && redis_running ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|env|status|stop" >&2
    exit 2
    ;;
esac
