-- Bookkeeping for the embedded migrations (sql/migrations/NNNN_name.sql).

-- name: MigrationLock
-- Transaction-scoped, so a crashed migrator can never leave it held. Every
-- process that starts at once queues here; the first applies, the rest find
-- nothing left to do. The key is a fixed 64-bit value, the ASCII bytes of
-- "cmpgnq01" (7164506171753181233 = 0x636d70676e713031), documented in
-- docs/architecture.md so that other users of advisory locks in the same database can
-- keep clear of it (a 32-bit hashtext() key would be shared by chance).
SELECT pg_advisory_xact_lock(7164506171753181233);

-- name: MigrationLockShared
-- Taken by --migrate=verify before it reads: it waits while a migrate step
-- holds MigrationLock, and then sees the migrations that step committed,
-- instead of reporting them "not applied" and exiting mid-rollout.
SELECT pg_advisory_xact_lock_shared(7164506171753181233);

-- name: MigrationCreateTable
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- name: MigrationTableExists
SELECT to_regclass('schema_migrations') IS NOT NULL;

-- name: MigrationListApplied
SELECT version, name, checksum FROM schema_migrations ORDER BY version;

-- name: MigrationRecord
INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3);

-- name: MigrationRunningSessions
-- Before a stop-first migration (common/db/migrator.h): the other sessions
-- of campaignq processes on this database. Not counted: sessions waiting
-- for MigrationLock (a starting process; it reads the schema only after
-- this migration commits, and one of an older release then refuses to
-- start), and the "-migrate" sessions of starting servers and workers,
-- which ask for that lock before anything else. The advisory key's halves:
-- classid 0x636d7067, objid 0x6e713031; objsubid 1 marks a 64-bit key.
-- application_name, usename and pid are visible to every role; client_addr
-- and backend_start only for the role's own sessions or with
-- pg_read_all_stats (NULL otherwise).
SELECT a.pid, a.application_name, coalesce(a.usename::text, ''),
       host(a.client_addr),
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
FROM pg_stat_activity a
WHERE a.datname = current_database()
  AND a.pid <> pg_backend_pid()
  AND a.application_name LIKE 'campaignq-%'
  AND a.application_name NOT IN ('campaignq-server-migrate', 'campaignq-worker-migrate')
  AND NOT EXISTS (
      SELECT 1 FROM pg_locks l
      WHERE l.pid = a.pid AND l.locktype = 'advisory' AND NOT l.granted
        AND l.classid = 1668116583 AND l.objid = 1852911665 AND l.objsubid = 1)
ORDER BY a.backend_start, a.pid;

-- name: MigrationHeartbeatTableExists
SELECT to_regclass('worker_heartbeats') IS NOT NULL;

-- name: MigrationRecentHeartbeats
-- Workers that beat within three of their intervals (kGoneAfterIntervals,
-- common/store/worker_heartbeat.h) and did not stop cleanly: running, even
-- if none of their sessions is connected right now.
SELECT worker_id,
       to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
FROM worker_heartbeats
WHERE stopped_at IS NULL
  AND last_seen_at > clock_timestamp() - 3 * interval_ms * interval '1 millisecond'
ORDER BY worker_id;
