-- Bookkeeping for the embedded migrations (sql/migrations/NNNN_name.sql).

-- name: MigrationLock
-- Transaction-scoped, so a crashed migrator can never leave it held. Every
-- process that starts at once queues here; the first applies, the rest find
-- nothing left to do.
SELECT pg_advisory_xact_lock(hashtext('campaignq.migrations'));

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
