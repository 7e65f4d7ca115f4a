-- Per-transaction settings that carry a caller's limits into PostgreSQL.

-- name: SessionLimitStatementTimeout
-- $1 milliseconds left before the caller's deadline (> 0). Lowers this
-- transaction's statement_timeout (set_config(..., true) is SET LOCAL) to
-- them, so that a statement still running when the call's deadline passes
-- is cancelled by the server (SQLSTATE 57014) instead of holding its
-- connection and locks for a caller that has gone. A lower timeout already
-- in force (the role's or the database's) is kept; 0 means none.
SELECT set_config(
         'statement_timeout',
         CASE
           WHEN current_setting('statement_timeout')::interval = interval '0'
             OR current_setting('statement_timeout')::interval
                  > make_interval(secs => $1::bigint / 1000.0)
           THEN ($1::bigint)::text
           ELSE current_setting('statement_timeout')
         END,
         true);

-- name: SessionCustomPlans
-- This transaction plans each statement for its own parameters
-- (set_config(..., true) is SET LOCAL). The list statements filter with
-- "($n = '' OR status = $n)": a custom plan sees the value and picks the
-- partial index of that status, but the generic plan PostgreSQL may switch
-- to after five executions must serve every value, can use no partial
-- index, and walks the primary key from the token (tests/list_plans_db_test).
-- A list page is rare next to a decision: planning it each time is cheap.
SELECT set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: SessionPing
-- The health check's round trip (every second, from every server). Reads
-- no table: it used to read the queue heads joined to their applications,
-- and prepared while the table was small, that statement kept a plan that
-- hashed the whole applications table, 42-53 ms of PostgreSQL CPU a ping
-- with 176,000 pending (pg_stat_statements, the Apply benchmark).
SELECT 1;

-- name: SessionDiscardPlans
-- Drops this session's cached plans; prepared statements stay. PostgreSQL
-- keeps a prepared statement's generic plan until an ANALYZE of its tables
-- invalidates it, and one costed while applications was empty (a fresh
-- install, a table a purge emptied) reads every pending row: the candidates
-- in a bitmap scan and sort instead of an index walk, the decide UPDATE
-- joined to a bitmap scan instead of primary-key probes. Each batch then
-- costs O(pending), and a soak at 1,000 Applies/s fell behind without bound
-- until the first autoanalyze (bench/RESULTS.md). The worker runs this every
-- few seconds (worker/worker_pool.cc), so plans follow the table's size.
DISCARD PLANS;

-- name: SessionUserLockTimeout
-- For a user-facing call that locks a campaign a worker's batch may hold
-- (ConfirmApplication, ReleaseApplication: docs/holds.md): wait at most
-- this long for a lock, then fail (SQLSTATE 55P03) so that the caller is
-- told to retry instead of waiting behind a drop's batches. SET LOCAL.
SELECT set_config('lock_timeout', '500ms', true);

-- name: SessionOrderedIndexScans
-- This transaction's plans read indexes in their order, never a bitmap of
-- them sorted afterwards (set_config(..., true) is SET LOCAL). For
-- ApplicationGetInLine: its "LIMIT 10001 in queue order" is bounded only
-- when read in index order. Its generic plan (parameters unknown) expected
-- few rows and took a bitmap scan of the whole line and a sort: 15,000 rows
-- read for a line of 15,000, O(line) (tests/server/place_in_line_db_test).
-- Run before every execution, so that the statement is always planned
-- under it (a cached plan keeps the settings it was planned with).
SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true);
