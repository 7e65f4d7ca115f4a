-- What the pressure kit (common/verify/pressure.h) reads and does to the
-- database around an open-loop load: the state sampled every window, the
-- decision latencies afterwards, and the faults it injects (a pinned xmin
-- horizon, terminated sessions). Only campaignq's own sessions of the
-- current database are ever terminated.

-- name: PressureClock
-- The database's clock, microseconds since the epoch: the origin of the
-- created_at windows, so that client and server clocks are never mixed.
SELECT campaignq_micros(clock_timestamp());

-- name: PressureSample
-- One window's database state: decisions so far (the campaigns' counters,
-- as the drain reads them), the backlog (pending rows), the sessions of this
-- database, `applications`' dead and live tuples as the statistics see
-- them, its heap, its indexes in total and its two pending partial indexes.
SELECT (SELECT coalesce(sum(approved_count + rejected_count + cancelled_count + failed_count), 0)
        FROM campaigns)::bigint,
       (SELECT count(*) FROM applications WHERE status = 'pending'),
       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()),
       s.n_dead_tup, s.n_live_tup,
       pg_relation_size('applications'),
       pg_indexes_size('applications'),
       pg_relation_size('applications_pending_by_campaign')
         + pg_relation_size('applications_pending_by_id')
FROM pg_stat_user_tables s WHERE s.relname = 'applications';

-- name: PressureDecisionLatency
-- Apply -> decision (decided_at - created_at, both the database's clock) in
-- windows of $2 microseconds from $1 (microseconds since the epoch), for
-- the applications with id >= $3: window, p50 and p99 in milliseconds, rows
-- decided, rows still pending. Cancelled and failed rows are not decisions
-- of the queue and are left out.
SELECT floor((campaignq_micros(created_at) - $1::bigint) / $2::double precision)::bigint AS w,
       percentile_disc(0.5) WITHIN GROUP (
           ORDER BY campaignq_micros(decided_at) - campaignq_micros(created_at)) / 1000.0,
       percentile_disc(0.99) WITHIN GROUP (
           ORDER BY campaignq_micros(decided_at) - campaignq_micros(created_at)) / 1000.0,
       count(decided_at),
       count(*) FILTER (WHERE status = 'pending')
FROM applications
WHERE id >= $3::bigint AND status NOT IN ('cancelled', 'failed')
GROUP BY w
ORDER BY w;

-- name: PressurePinHorizon
-- A transaction id handed out and kept: with the transaction left open
-- (idle in transaction), no row version deleted after it can be vacuumed.
SELECT txid_current();

-- name: PressureScanApplications
-- A REPEATABLE READ session's report over the whole table.
SELECT count(*), count(*) FILTER (WHERE status = 'approved') FROM applications;

-- name: PressureTerminateOne
-- Terminates one of campaignq's sessions on this database ($1: the
-- application_name pattern), chosen at random; 1 when one was terminated.
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name LIKE $1
    ORDER BY random() LIMIT 1) victim;

-- name: PressureSessionsOf
-- campaignq's sessions on this database ($1: the application_name pattern).
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE $1;
