# shellcheck shell=bash
# Shared by scripts/test and scripts/run-service (sourced, not run): starting
# and stopping a PostgreSQL 15 cluster owned by the `postgres` user when we
# are root (PostgreSQL refuses to run as root).

# CAMPAIGNQ_POSTGRES_BIN_DIR (as for the test binaries, tests/support) or the
# older CAMPAIGNQ_PG_BIN point elsewhere.
PG_BIN=${CAMPAIGNQ_POSTGRES_BIN_DIR:-${CAMPAIGNQ_PG_BIN:-/usr/lib/postgresql/15/bin}}

# Runs a PostgreSQL tool as postgres when root, as ourselves otherwise.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Makes a directory (and a file, if given) PostgreSQL may write.
pg_own() {
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$@"
  fi
}

# A TCP port on 127.0.0.1 that is free right now (the kernel picks it).
free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# pg_start DATA_DIR SOCKET_DIR PORT LOG [extra -c options...]
pg_start() {
  local data=$1 sockets=$2 port=$3 log=$4
  shift 4
  local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$sockets"
  local extra
  for extra in "$@"; do
    options+=" -c $extra"
  done
  as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$log" -w -t 60 -o "$options" >/dev/null
}

# pg_stop DATA_DIR [mode]
pg_stop() {
  as_pg "$PG_BIN/pg_ctl" stop -D "$1" -m "${2:-fast}" -w >/dev/null 2>&1 || true
}
