#!/usr/bin/env bash
# Local PostgreSQL and Redis for development and tests, under the project's own var/ folder.
#   scripts/services.sh start   install what is missing, start both (idempotent)
#   scripts/services.sh stop    stop both
# When DATABASE_URL / REDIS_URL point elsewhere, nothing local is started for that service.
# PostgreSQL refuses to run as root, so as root the cluster is owned by the `postgres` system user.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR="$ROOT/var"
PG_PORT=${JUKINET_PG_PORT:-54329}
REDIS_PORT=${JUKINET_REDIS_PORT:-63799}
PGDATA="$VAR/pg/data"
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
  # The checkout's parents are closed to the server user (e.g. a private CI folder): keep the
  # cluster in a folder of its own, named after the checkout so that two checkouts never share it.
  PGDATA="/var/tmp/jukinet-pg-$(printf %s "$ROOT" | sha256sum | cut -c1-12)/data"
fi
mkdir -p "$VAR/log" "$VAR/run" "$VAR/redis"

log() { printf '[services] %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {
  # Installs Debian packages that are missing; one `apt-get update` per run.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  command -v pg_config >/dev/null && pg_config --bindir
}

run_pg() {  # run a PostgreSQL binary as the cluster owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then log "DATABASE_URL set: using it"; return; fi
  [ -n "$(pg_bindir)" ] || apt_install postgresql postgresql-contrib
  local bin; bin=$(pg_bindir)
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then log "PostgreSQL already up on $PG_PORT"; return; fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA"
    if [ "$(id -u)" = 0 ]; then
      # The server user must be able to reach the data folder: give it traverse rights on var/ only.
      chown -R postgres:postgres "$(dirname "$PGDATA")"; chmod 755 "$VAR"
    fi
    run_pg "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
checkpoint_timeout = 15min
max_locks_per_transaction = 256
CONF
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  run_pg "$bin/pg_ctl" -D "$PGDATA" -l "$(dirname "$PGDATA")/server.log" -w -t 60 start >/dev/null
  run_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc \
    "SELECT 1 FROM pg_roles WHERE rolname='jukinet'" | grep -q 1 || \
    run_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc \
      "CREATE ROLE jukinet LOGIN SUPERUSER PASSWORD 'jukinet'"
  run_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='jukinet'" | grep -q 1 || \
    run_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres -O jukinet jukinet
}

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then log "REDIS_URL set: using it"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then log "Redis already up on $REDIS_PORT"; return; fi
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  # A broker only: the inbox in PostgreSQL is the source of truth, so no persistence.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$VAR/redis" --save "" --appendonly no \
    --daemonize yes --pidfile "$VAR/run/redis.pid" --logfile "$VAR/log/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  log "Redis did not start"; exit 1
}

stop_all() {
  local bin; bin=$(pg_bindir || true)
  if [ -n "$bin" ] && [ -s "$PGDATA/postmaster.pid" ]; then
    run_pg "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || true
  fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start_postgres; start_redis ;;
  stop) stop_all ;;
  system-packages) shift; apt_install "$@" ;;
  *) echo "usage: $0 start|stop|system-packages PKG…" >&2; exit 2 ;;
esac
