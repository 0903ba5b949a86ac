#!/usr/bin/env bash
# Builds the real Dockerfile with Podman, runs the image and the compose stack, and checks
# them (issue 14; docs/production.md). As root, from a clone:
#
#   scripts/container-check.sh
#
# 1. Stand-ins for the base images, built from Debian packages with mmdebstrap (no image
#    registry is reachable) and tagged with the names the Dockerfile and docker-compose.yml
#    use, so neither file changes for the check. They are cached in $CACHE, keyed by a hash
#    of how they are built, and rebuilt when that changes or on a fresh machine.
# 2. The image: built from the Dockerfile as is, then run with the tests' media served
#    from the host: non-root user, /healthz and the HEALTHCHECK, the admin key in the
#    log, a get_video whose file downloads, web and worker roles from the one image, deno
#    and ffmpeg, no compiler, `pip check`, no host-only files (.dockerignore), its size;
#    yt-dlp updated inside the running containers from a mounted folder of wheels (the
#    next task runs it, with no restart), and still the current one after a restart.
# 3. The compose stack through podman-compose with the real docker-compose.yml and a .env
#    made from .env.example: web, worker scaled to 2, postgres, redis; a task completes,
#    a restart of the workers loses no task, keys and finished tasks survive down and up.
#
# Everything runs in Podman storage of its own under $CACHE (nothing of another Podman
# user is touched). Containers, volumes, networks and every image but the cached
# stand-ins are removed however the script ends. Installs podman, runc and mmdebstrap with
# apt-get when missing, and .venv with requirements-dev.txt (podman-compose).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
started=$SECONDS

CACHE=${YTDLPHOST_IMAGE_CACHE:-/var/cache/ytdlphost-images}
# The image's size limit. Measured at 1111 MB (Podman's count, on the stand-in base of
# 202 MB; the official python:3.11-slim is smaller): Debian's ffmpeg with its libraries
# 668 MB, the Python packages with Deno 241 MB. The headroom (12%) takes Debian's updates
# and pin bumps, not a new dependency: raise it on purpose.
IMAGE_BUDGET_MB=1250
# Under the check's own timeouts a step that hangs fails the run well within CI's limit.
STEP_TIMEOUT=240
PROJECT=ytdlphost-check
SUITE=bookworm

say() { printf '[container-check %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}
ok() { say "ok: $*"; }

[ "$(id -u)" -eq 0 ] || die "run as root (podman with its own storage, apt-get, mmdebstrap)"

# --- Tools ------------------------------------------------------------------------------

missing=()
for tool in podman runc mmdebstrap curl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -x /usr/libexec/podman/catatonit ] || missing+=(catatonit) # compose's `init: true`
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# (In a child shell: the sourced script would bring its own say() into this one.)
YTDLPHOST_REQUIREMENTS=requirements-dev.txt bash scripts/setup.sh
PYTHON=$ROOT/.venv/bin/python
PODMAN_COMPOSE=$ROOT/.venv/bin/podman-compose

# Podman as it works here (issue 14): vfs storage, runc, cgroupfs, no default ulimits.
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -n 9 || die "another container check is running (lock $CACHE/lock)"
WORK=$(mktemp -d /tmp/ytdlphost-container-check.XXXXXX)
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$CACHE/storage"
runroot = "/run/ytdlphost-images"
EOF
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf

# --- Cleanup ----------------------------------------------------------------------------

STANDIN_LABEL=ytdlphost.standin
# The stand-ins, by the names the Dockerfile and docker-compose.yml give them.
image_from_dockerfile=$(sed -n 's/^FROM[[:space:]]\+\([^[:space:]]\+\).*/\1/p' Dockerfile | head -n 1)
compose_image() { sed -n "/^  $1:/,/^  [a-z]/s/^    image:[[:space:]]*//p" docker-compose.yml | head -n 1; }
declare -A standins=(
  [python]=$image_from_dockerfile
  [postgres]=$(compose_image postgres)
  [redis]=$(compose_image redis)
)
media_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  say "cleaning up"
  if [ -f "$WORK/compose/docker-compose.yml" ]; then
    (cd "$WORK/compose" && "$PODMAN_COMPOSE" -p "$PROJECT" down -v -t 5 >/dev/null 2>&1)
  fi
  [ -n "$media_pid" ] && kill "$media_pid" 2>/dev/null && wait "$media_pid" 2>/dev/null
  # The storage is the check's own: every container, volume and network in it is ours,
  # and so is every image that is not a cached stand-in.
  podman rm -af -t 5 >/dev/null 2>&1
  podman volume rm -af >/dev/null 2>&1
  podman network ls --format '{{.Name}}' | grep -vx podman | xargs -r podman network rm -f >/dev/null 2>&1
  local keep name
  keep=$(for name in "${standins[@]}"; do podman image inspect --format '{{.Id}}' "$name"; done 2>/dev/null)
  podman images -a --no-trunc --format '{{.ID}}' | sed 's/^sha256://' | grep -vxF "${keep:-none}" |
    xargs -r podman rmi -f >/dev/null 2>&1
  rm -rf "$WORK"
  if [ "$status" -eq 0 ]; then
    say "passed in $((SECONDS - started)) s"
  else
    say "failed (exit $status) after $((SECONDS - started)) s"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Leftovers of a run that was killed outright (no trap ran).
podman rm -af -t 0 >/dev/null 2>&1 || true
podman volume rm -af >/dev/null 2>&1 || true

# --- 1. Stand-in base images ------------------------------------------------------------

# As in Debian's slim images (which python:*-slim starts from): dpkg leaves out docs, man
# pages and translations, also of what the Dockerfile installs on top.
debian_slim() {
  printf -- '--dpkgopt=path-exclude=/usr/share/%s/*\n' doc man groff info lintian linda locale
  printf -- '--dpkgopt=path-include=/usr/share/doc/*/copyright\n'
}
# Each stand-in is a function printing mmdebstrap's arguments and `podman import`'s
# --change lines; its hash (with the files it copies in) is the cache key.
standin_python() {
  debian_slim
  # python:3.11-slim-bookworm: Python 3.11 with pip, `python` and `pip` in /usr/local/bin
  # (a virtualenv at /usr/local, so that pip installs beside Debian's Python as in the
  # official image, whose Python lives in /usr/local).
  printf '%s\n' --variant=minbase --include=python3,python3-venv,ca-certificates \
    --customize-hook='chroot "$1" python3 -m venv /usr/local' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    --change='ENV LANG=C.UTF-8' --change='CMD ["python3"]'
}
standin_postgres() {
  debian_slim
  # postgres:16-alpine: Debian's PostgreSQL (15 in bookworm) with the official image's
  # POSTGRES_* variables, data directory and entrypoint behaviour.
  printf '%s\n' --variant=minbase --include=postgresql-15 \
    --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/no-main-cluster.conf"' \
    --customize-hook="copy-in $ROOT/scripts/container-check/postgres-entrypoint.sh /usr/local/bin" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    --change='ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change='ENV PGDATA=/var/lib/postgresql/data' --change='VOLUME /var/lib/postgresql/data' \
    --change='ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]' --change='CMD ["postgres"]' \
    --change='EXPOSE 5432'
}
standin_redis() {
  debian_slim
  # redis:7-alpine: Debian's Redis 7, data in /data, the official image's entrypoint.
  printf '%s\n' --variant=minbase --include=redis-server,redis-tools \
    --customize-hook="copy-in $ROOT/scripts/container-check/redis-entrypoint.sh /usr/local/bin" \
    --customize-hook='mkdir -p "$1/data"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    --change='WORKDIR /data' --change='VOLUME /data' \
    --change='ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]' --change='CMD ["redis-server"]' \
    --change='EXPOSE 6379'
}


build_standin() {
  local kind=$1 name=$2 key=$3 mm_args=() changes=() arg
  while IFS= read -r arg; do
    case "$arg" in
      --change=*) changes+=(--change "${arg#--change=}") ;;
      *) mm_args+=("$arg") ;;
    esac
  done < <("standin_$kind")
  mmdebstrap --quiet "${mm_args[@]}" "$SUITE" "$WORK/$kind.tar" >"$WORK/$kind.log" 2>&1 ||
    { cat "$WORK/$kind.log" >&2; return 1; }
  podman import --quiet "${changes[@]}" --change "LABEL $STANDIN_LABEL=$key" \
    "$WORK/$kind.tar" "$name" >/dev/null
  rm -f "$WORK/$kind.tar"
}

pids=()
for kind in "${!standins[@]}"; do
  name=${standins[$kind]}
  [ -n "$name" ] || die "no image name found for the $kind stand-in"
  key=$( (declare -f debian_slim "standin_$kind" && echo "$SUITE $name" &&
    cat scripts/container-check/*-entrypoint.sh) | sha256sum | cut -c1-16)
  have=$(podman image inspect --format "{{index .Labels \"$STANDIN_LABEL\"}}" "$name" 2>/dev/null || true)
  if [ "$have" = "$key" ]; then
    say "stand-in $name: cached ($key)"
    continue
  fi
  say "stand-in $name: building from Debian $SUITE packages ($key)"
  build_standin "$kind" "$name" "$key" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid" || die "building a stand-in base image failed"
done
# Stand-ins replaced by a newer build are dangling now.
podman image prune -f >/dev/null

# --- 2. The image -----------------------------------------------------------------------

IMAGE=ytdlphost:latest # the name docker-compose.yml gives it
# Docker's image format: the OCI format has no HEALTHCHECK (Podman drops it with a warning).
say "building the Dockerfile as $IMAGE"
# pip reaches the package registry here only with the machine's CA bundle: it is mounted
# read-only with a pip.conf naming it, for the build only (the Dockerfile is unchanged).
build_mounts=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$WORK/pip.conf"
  build_mounts=(
    --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
    --volume "$WORK/pip.conf:/etc/pip.conf:ro"
  )
fi
build_started=$SECONDS
podman build --quiet --format=docker --network=host --isolation=chroot "${build_mounts[@]}" \
  --tag "$IMAGE" . >"$WORK/build.log" 2>&1 || {
  tail -n 40 "$WORK/build.log" >&2
  die "podman build failed"
}
say "built in $((SECONDS - build_started)) s; its layers:"
podman history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-110 >&2

# (Without the HEALTHCHECK: podman would only complain that it cannot time it with systemd.)
in_image() { podman run --rm --network=none --no-healthcheck "$IMAGE" "$@"; }

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$((size / 1000000))
say "image size: $size_mb MB (budget $IMAGE_BUDGET_MB MB)"
[ "$size_mb" -le "$IMAGE_BUDGET_MB" ] || die "the image is $size_mb MB, over its budget of $IMAGE_BUDGET_MB MB"
ok "image size within budget"

# One container for the checks of the image's contents (each container is a full copy
# of the image with vfs storage). Every line it prints is a failure.
problems=$(in_image sh -c '
  for tool in deno ffmpeg ffprobe; do "$tool" -version >/dev/null 2>&1 || "$tool" --version >/dev/null 2>&1 || echo "$tool does not run"; done
  for c in cc gcc g++ c++ clang tcc make ld as; do command -v "$c" >/dev/null && echo "a compiler or build tool: $c"; done
  ls /usr/bin/*-gcc* /usr/bin/*-g++* 2>/dev/null | sed "s/^/a compiler: /"
  pip check >/tmp/pip-check 2>&1 || sed "s/^/pip check: /" /tmp/pip-check
  # What .dockerignore must keep out; the build context has most of them (.venv, .cache
  # with the test media, .git, tests...).
  cd /app
  for p in .git .venv venv .cache tests bench data downloads scripts .ci .env .pytest_cache \
    .ruff_cache .hypothesis run.sh test.sh Dockerfile docker-compose.yml; do
    [ -e "$p" ] && echo "host-only file in /app: $p"
  done
  find . \( -name "*.sqlite3" -o -name secret_key -o -name "*.log" \) -print | sed "s/^/host-only file in \/app: /"
  # The build mounted a pip.conf there: Podman leaves its mount point, an empty file.
  [ -s /etc/pip.conf ] && echo "the build left a pip.conf with content"
  true
' 2>&1) || die "the image's contents could not be checked: $problems"
[ -z "$problems" ] || die "in the image: $problems"
ok "deno, ffmpeg and ffprobe run; no compiler; pip check is clean"
ok "no tests, benches, data, git, caches or test artifacts in the image"

# The tests' media, served from the host on every address: the containers of part 2 reach
# it on 127.0.0.1 (host network), those of the compose stack as host.containers.internal.
"$PYTHON" -m tests.support.serve_media --host 0.0.0.0 "$WORK/media-port" &
media_pid=$!
for _ in $(seq 600); do
  [ -s "$WORK/media-port" ] && break
  kill -0 "$media_pid" 2>/dev/null || die "the media server did not start"
  sleep 0.5
done
[ -s "$WORK/media-port" ] || die "the media server did not start"
MEDIA_PORT=$(cat "$WORK/media-port")

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
secret() { "$PYTHON" -c 'import secrets; print(secrets.token_hex(24))'; }

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds.
wait_for() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what: not after ${limit}s"
    sleep 2
  done
}

# The API, at $BASE with $KEY.
api() {
  local method=$1 path=$2
  shift 2
  curl -fsS -X "$method" "$BASE$path" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' "$@"
}
json() { "$PYTHON" -c "import json, sys; data = json.load(sys.stdin); print($1)"; }
# healthz [QUERY]: GET /healthz answers 200.
healthz() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz${1:-}")" = 200 ]; }
admin_key_from() {
  grep "Created the 'admin' API key" | sed -n 's/.*shown this once: \([A-Za-z0-9_-]*\).*/\1/p' | tail -n 1
}
get_video() {
  api POST /get_video -d "{\"url\": \"$1\", \"output_format\": \"mp4\"}" | json 'data["task_id"]'
}
task_finished() {
  api GET "/status/$1" | json 'data["status"]' | grep -Eqx 'completed|error'
}
# expect_completed TASK: waits for it, fails unless it completed, downloads its file.
expect_completed() {
  local task=$1 status file
  wait_for "$STEP_TIMEOUT" "task $task finishing" task_finished "$task"
  status=$(api GET "/status/$task")
  [ "$(json 'data["status"]' <<<"$status")" = completed ] || die "task $task did not complete: $status"
  file=$(json 'data["file"]' <<<"$status")
  api GET "$file" -o "$WORK/download.mp4" || die "the file of task $task did not download"
  ffprobe -v error -show_entries format=duration -of csv=p=0 "$WORK/download.mp4" >/dev/null ||
    die "the file of task $task is not a playable video"
}
healthcheck_healthy() {
  podman healthcheck run "$1" >/dev/null 2>&1 &&
    [ "$(podman inspect --format '{{.State.Health.Status}}' "$1")" = healthy ]
}

# A yt-dlp wheel under another version number, made from the one the image has (the
# same pin), for the update step; the containers see the folder as /wheels. The update
# schedule is off: no package index is reachable from the containers.
UPDATE_VERSION=2099.1.1
mkdir "$WORK/wheels"
"$PYTHON" -c "import sys; from pathlib import Path; from tests.support.ytdlp_wheels import build_wheel; build_wheel(Path(sys.argv[1]), sys.argv[2])" \
  "$WORK/wheels" "$UPDATE_VERSION"
chmod -R a+rX "$WORK/wheels"

say "running the image: web and worker, on SQLite in one volume, host network"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
role_env=(--env "SECRET_KEY=$(secret)" --env "PORT=$PORT" --env ALLOW_PRIVATE_URLS=true
  --env YTDLP_UPDATE=off --volume "$WORK/wheels:/wheels:ro")
podman volume create "$PROJECT-data" >/dev/null
podman run -d --name "$PROJECT-web" --network=host --volume "$PROJECT-data:/data" \
  "${role_env[@]}" "$IMAGE" >/dev/null
wait_for "$STEP_TIMEOUT" "/healthz?skip=workers of the web container answering 200" healthz '?skip=workers'
podman run -d --name "$PROJECT-worker" --network=host --volume "$PROJECT-data:/data" \
  "${role_env[@]}" "$IMAGE" worker >/dev/null
# Without ?skip=workers, /healthz also needs a running worker cluster.
wait_for "$STEP_TIMEOUT" "/healthz answering 200 with the worker's cluster" healthz
ok "web and worker roles run from the one image: /healthz answers 200"
wait_for "$STEP_TIMEOUT" "the worker container's HEALTHCHECK" healthcheck_healthy "$PROJECT-worker"
ok "worker role: its HEALTHCHECK reports healthy"
wait_for 60 "the web container's HEALTHCHECK" healthcheck_healthy "$PROJECT-web"
ok "web role: its HEALTHCHECK reports healthy"
[ "$(podman inspect --format '{{.Image}}' "$PROJECT-web")" = "$(podman inspect --format '{{.Image}}' "$PROJECT-worker")" ] ||
  die "web and worker run different images"

for container in "$PROJECT-web" "$PROJECT-worker"; do
  [ "$(podman exec "$container" id -un)" = ytdlphost ] || die "$container does not run as ytdlphost"
  users=$(podman top "$container" user | tail -n +2 | sort -u | tr '\n' ' ')
  [ "$users" = "ytdlphost " ] || die "$container runs processes as: $users"
done
ok "both containers run every process as the unprivileged user ytdlphost"

KEY=$(podman logs "$PROJECT-web" 2>&1 | admin_key_from)
[ -n "$KEY" ] || die "no \"Created the 'admin' API key\" line with the secret in the web log"
api GET /me >/dev/null || die "the admin key from the log is refused"
ok "the admin key is in the web log and authenticates"

task=$(get_video "http://127.0.0.1:$MEDIA_PORT/progressive.mp4")
expect_completed "$task"
ok "get_video of the media fixture completed and its file downloads"

# yt-dlp updated at runtime: pip installs from the mounted wheels into the /data volume,
# the canary passes, the running worker's next task runs it; a restart keeps it.
ytdlp_health() { curl -fsS "$BASE/healthz?skip=workers" | json 'data["checks"]["yt_dlp"]["version"] + " " + data["checks"]["yt_dlp"]["source"]'; }
task_ytdlp() { api GET "/status/$1" | json 'data["yt_dlp_version"]'; }
bundled=$(ytdlp_health)
podman exec --env PIP_FIND_LINKS=/wheels --env PIP_NO_INDEX=1 "$PROJECT-worker" \
  python manage.py update_ytdlp --version "$UPDATE_VERSION" >"$WORK/update.log" 2>&1 || {
  cat "$WORK/update.log" >&2
  die "manage.py update_ytdlp --version $UPDATE_VERSION failed in the worker container"
}
[ "$(ytdlp_health)" = "$UPDATE_VERSION updated" ] || die "/healthz after the update says yt-dlp $(ytdlp_health), was $bundled"
task=$(get_video "http://127.0.0.1:$MEDIA_PORT/progressive.mp4")
expect_completed "$task"
[ "$(task_ytdlp "$task")" = "$UPDATE_VERSION" ] || die "the running worker's next task ran yt-dlp $(task_ytdlp "$task")"
ok "yt-dlp updated in the running containers ($bundled -> $UPDATE_VERSION): /healthz says so, the worker's next task ran it"
podman restart -t 10 "$PROJECT-web" "$PROJECT-worker" >/dev/null || die "podman restart failed"
wait_for "$STEP_TIMEOUT" "/healthz answering 200 after the restart" healthz
[ "$(ytdlp_health)" = "$UPDATE_VERSION updated" ] || die "/healthz after a restart says yt-dlp $(ytdlp_health)"
task=$(get_video "http://127.0.0.1:$MEDIA_PORT/progressive.mp4")
expect_completed "$task"
[ "$(task_ytdlp "$task")" = "$UPDATE_VERSION" ] || die "after a restart a task ran yt-dlp $(task_ytdlp "$task")"
ok "after a restart of both containers the update is still current (the /data volume keeps it)"
podman rm -f -t 5 "$PROJECT-web" "$PROJECT-worker" >/dev/null
podman volume rm "$PROJECT-data" >/dev/null

# --- 3. The compose stack ---------------------------------------------------------------

# The real docker-compose.yml, copied unchanged beside a .env made from .env.example (a
# .env of this checkout is left alone). The image is built already: compose uses it.
mkdir "$WORK/compose"
cp docker-compose.yml "$WORK/compose/"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
sed -e "s/^SECRET_KEY=\$/SECRET_KEY=$(secret)/" -e "s/^POSTGRES_PASSWORD=\$/POSTGRES_PASSWORD=$(secret)/" \
  -e "s/^REDIS_PASSWORD=\$/REDIS_PASSWORD=$(secret)/" .env.example >"$WORK/compose/.env"
# (YTDLP_UPDATE=off: no package index is reachable from the containers.)
printf 'PORT=%s\nALLOW_PRIVATE_URLS=true\nYTDLP_UPDATE=off\n' "$PORT" >>"$WORK/compose/.env"
compose() { (cd "$WORK/compose" && "$PODMAN_COMPOSE" -p "$PROJECT" "$@"); }
compose_up() {
  compose up -d --scale worker=2 >"$WORK/compose-up.log" 2>&1 || {
    cat "$WORK/compose-up.log" >&2
    die "podman-compose up failed"
  }
}
containers_of() { podman ps --filter "label=com.docker.compose.service=$1" --format '{{.Names}}'; }
all_healthy() {
  local container
  for container in $(podman ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}'); do
    healthcheck_healthy "$container" || return 1
  done
}
stack_ready() {
  wait_for "$STEP_TIMEOUT" "/healthz of the compose stack answering 200" healthz
  [ "$(containers_of worker | wc -l)" -eq 2 ] || die "not 2 worker containers: $(containers_of worker)"
  wait_for "$STEP_TIMEOUT" "every container's HEALTHCHECK reporting healthy" all_healthy
}

say "compose: up with web, worker x2, postgres and redis"
compose_up
stack_ready
ok "compose: all five containers run and report healthy; /healthz answers 200"

published=$(podman port "$(containers_of web)" 5000/tcp)
[ "$published" = "127.0.0.1:$PORT" ] || die "compose: the API is published on $published, not loopback"
noauth=$(podman exec "$(containers_of redis)" env -u REDISCLI_AUTH redis-cli ping 2>&1 || true)
[[ "$noauth" == *NOAUTH* ]] || die "compose: Redis answered a client without its password: $noauth"
ok "compose: the API is published on loopback only; Redis refuses a client without its password"

KEY=$(compose logs --no-color web 2>&1 | admin_key_from)
[ -n "$KEY" ] || die "compose: no admin key in \`logs web\`"
api GET /me >/dev/null || die "compose: the admin key from the log is refused"
ok "compose: the admin key is in \`logs web\` and authenticates"

MEDIA_URL=http://host.containers.internal:$MEDIA_PORT/progressive.mp4
first=$(get_video "$MEDIA_URL")
expect_completed "$first"
ok "compose: a get_video completed and its file downloads"

# A restart of the workers loses no task: tasks are queued while the workers are stopped
# (they wait in Redis), more while they restart; each must complete.
started_before=$(podman inspect --format '{{.State.StartedAt}}' $(containers_of worker))
compose stop worker >/dev/null 2>&1 || die "compose: stop worker failed"
queued=("$(get_video "$MEDIA_URL")" "$(get_video "$MEDIA_URL")")
compose restart worker >/dev/null 2>&1 || die "compose: restart worker failed"
queued+=("$(get_video "$MEDIA_URL")" "$(get_video "$MEDIA_URL")")
[ "$(podman inspect --format '{{.State.StartedAt}}' $(containers_of worker))" != "$started_before" ] ||
  die "compose: restart worker did not restart the workers"
[ "$(containers_of worker | wc -l)" -eq 2 ] || die "compose: not 2 workers after the restart"
for task in "${queued[@]}"; do
  expect_completed "$task"
done
ok "compose: the 4 tasks queued while the workers stopped and restarted all completed"

say "compose: down and up again"
compose down -t 60 >/dev/null 2>&1 || die "compose: down failed"
compose_up
stack_ready
api GET /me >/dev/null || die "compose: the admin key is refused after down and up"
if podman logs "$(containers_of web)" 2>&1 | grep -q "Created the 'admin' API key"; then
  die "compose: the admin key was created again after down and up"
fi
listed=$(api GET '/tasks?status=completed&limit=200' | json '" ".join(sorted(t["task_id"] for t in data["tasks"]))')
for task in "$first" "${queued[@]}"; do
  [[ " $listed " == *" $task "* ]] || die "compose: task $task is not listed as completed after down and up"
done
api GET "$(api GET "/status/$first" | json 'data["file"]')" -o /dev/null ||
  die "compose: a finished file is gone after down and up"
expect_completed "$(get_video "$MEDIA_URL")"
ok "compose: after down and up the key is valid, the 5 finished tasks are listed, files download, a new task completes"
