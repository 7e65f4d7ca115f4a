-- Bookkeeping for the embedded migrations (sql/migrations/NNNN_name.sql).

-- name: MigrationLock
-- Transaction-scoped, so a crashed migrator can never leave it held. Every
-- process that starts at once queues here; the first applies, the rest find
-- nothing left to do. The key is a fixed 64-bit value, the ASCII bytes of
-- "cmpgnq01" (7164506171753181233 = 0x636d70676e713031), documented in the
-- README so that other users of advisory locks in the same database can
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
