# shellcheck shell=bash
# Shared by bench/run and bench/soak (sourced): building the three binaries
# and starting a fresh PostgreSQL 15 cluster (initdb defaults,
# max_connections=200, listen_addresses=127.0.0.1, trust, fsync and
# synchronous_commit on) that is removed on exit.
# Expects: $root (the repository), $build_dir, $build (1: build), $keep
# (1: keep the cluster directory), $logs (a directory for initdb's log).
# BENCH_PG_SETTINGS="name=value ..." adds server settings, for experiments
# (e.g. autovacuum_naptime=5s); the results' header lists them.

# shellcheck source=../scripts/pg-lib.sh
source "$root/scripts/pg-lib.sh"
export PATH=$PG_BIN:$PATH

# Sets $bench, $server, $worker; builds them first when $build is 1.
bench_binaries() {
  if [[ $build == 1 ]]; then
    "$root/scripts/install-deps" >/dev/null
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build_dir" -j "$(nproc)" --target campaignq-server campaignq-worker campaignq-bench >/dev/null
  fi
  bench=$build_dir/bench/campaignq-bench
  server=$build_dir/server/campaignq-server
  worker=$build_dir/worker/campaignq-worker
  local b
  for b in "$bench" "$server" "$worker"; do
    [[ -x $b ]] || { echo "${0##*/}: missing $b (build first, or drop --no-build)" >&2; exit 2; }
  done
}

# Starts the cluster; sets $work (its directory) and $base (its URL, no
# database) and stops and removes it on exit.
bench_cluster() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/campaignq-bench.XXXXXX")
  chmod 755 "$work"
  mkdir -p "$work/data" "$work/sockets"
  pg_own "$work/data" "$work/sockets"
  trap bench_cluster_cleanup EXIT
  as_pg "$PG_BIN/initdb" -D "$work/data" -A trust -U postgres -N >"$logs/initdb.log" 2>&1
  local port
  port=$(free_port)
  touch "$work/postgres.log"; pg_own "$work/postgres.log"
  # shellcheck disable=SC2086  # BENCH_PG_SETTINGS: extra name=value words
  pg_start "$work/data" "$work/sockets" "$port" "$work/postgres.log" max_connections=200 \
    ${BENCH_PG_SETTINGS:-}
  base=postgresql://postgres@127.0.0.1:$port
}

bench_cluster_cleanup() {
  pg_stop "$work/data" immediate
  if [[ $keep == 0 ]]; then rm -rf "$work"; else echo "cluster kept in $work"; fi
}

# The machine and versions, for the results' header.
bench_machine() { # db
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "postgresql: $(psql -qAtX "$1" -c 'SHOW server_version')"
  echo "campaignq: repository at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (uncommitted changes)'); binaries in $build_dir, built $(date -u -r "$server" '+%Y-%m-%d %H:%M UTC')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [[ -n ${BENCH_PG_SETTINGS:-} ]]; then echo "extra server settings: $BENCH_PG_SETTINGS"; fi
}
