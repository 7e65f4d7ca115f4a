#!/bin/sh
# Writes Patroni's configuration from the environment, then runs Patroni in
# place (exec: SIGTERM reaches Patroni, which stops PostgreSQL cleanly).
#   PATRONI_NAME           this member (the compose service name)
#   PATRONI_ETCD3_HOSTS    etcd1:2379,etcd2:2379,etcd3:2379
#   SYNCHRONOUS_MODE       true (default) | false
#   SYNCHRONOUS_MODE_STRICT false (default) | true: no writes without a standby
#   POSTGRES_PASSWORD, REPLICATION_PASSWORD   superuser / replicator passwords
set -eu
: "${PATRONI_NAME:?}" "${PATRONI_ETCD3_HOSTS:?}" "${POSTGRES_PASSWORD:?}" "${REPLICATION_PASSWORD:?}"
config=/var/lib/postgresql/patroni.yml
cat >"$config" <<YAML
scope: campaignq
namespace: /campaignq/
name: $PATRONI_NAME
restapi:
  listen: 0.0.0.0:8008
  connect_address: $PATRONI_NAME:8008
etcd3:
  hosts: $PATRONI_ETCD3_HOSTS
bootstrap:
  dcs:
    # Production-like timing: the leader key lives 30 s (a whole-node death
    # is failed over after at most ttl); loop_wait + 2 * retry_timeout <= ttl.
    ttl: 30
    loop_wait: 10
    retry_timeout: 10
    maximum_lag_on_failover: 1048576
    # A crashed postmaster is failed over at once instead of restarted in place.
    primary_start_timeout: 0
    synchronous_mode: ${SYNCHRONOUS_MODE:-true}
    synchronous_mode_strict: ${SYNCHRONOUS_MODE_STRICT:-false}
    postgresql:
      use_pg_rewind: true
      parameters:
        max_connections: 200
        wal_log_hints: "on"
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth-host: scram-sha-256
    - auth-local: trust
postgresql:
  listen: 0.0.0.0:5432
  connect_address: $PATRONI_NAME:5432
  data_dir: /var/lib/postgresql/data
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /tmp/pgpass
  remove_data_directory_on_rewind_failure: true
  remove_data_directory_on_diverged_timelines: true
  authentication:
    superuser: {username: postgres, password: "$POSTGRES_PASSWORD"}
    replication: {username: replicator, password: "$REPLICATION_PASSWORD"}
    rewind: {username: postgres, password: "$POSTGRES_PASSWORD"}
  pg_hba:
    - local all all trust
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
YAML
exec patroni "$config"
