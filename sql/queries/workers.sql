-- Worker heartbeat statements (common/store/worker_heartbeat.h). Rows of
-- WorkerHeartbeatList come back as: worker_id, host, pid, lock_mode, threads,
-- interval_ms, started_at, last_seen_at, stopped_at (microseconds since the
-- epoch), decided_last_minute, errors_last_minute, and the age of the last
-- heartbeat in microseconds by the database's clock (one clock for every
-- worker, so skewed worker clocks cannot make one look alive or gone).

-- name: WorkerHeartbeatUpsert
-- $1 worker_id, $2 host, $3 pid, $4 lock_mode, $5 threads, $6 interval_ms,
-- $7 started_at (microseconds since the epoch), $8 decided_last_minute,
-- $9 errors_last_minute, $10 stopped (true on the last beat of a clean stop).
INSERT INTO worker_heartbeats AS h
    (worker_id, host, pid, lock_mode, threads, interval_ms, started_at,
     decided_last_minute, errors_last_minute, stopped_at)
VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint / 1000000.0), $8, $9,
        CASE WHEN $10::boolean THEN clock_timestamp() END)
ON CONFLICT (worker_id) DO UPDATE
SET last_seen_at = clock_timestamp(),
    lock_mode = EXCLUDED.lock_mode,
    threads = EXCLUDED.threads,
    interval_ms = EXCLUDED.interval_ms,
    decided_last_minute = EXCLUDED.decided_last_minute,
    errors_last_minute = EXCLUDED.errors_last_minute,
    stopped_at = EXCLUDED.stopped_at;

-- name: WorkerHeartbeatPrune
-- Forgets workers not seen for $1 microseconds. Rows of other workers: a
-- DELETE that finds one locked by a concurrent prune waits for it, briefly.
DELETE FROM worker_heartbeats
WHERE last_seen_at < clock_timestamp() - make_interval(secs => $1::bigint / 1000000.0);

-- name: WorkerHeartbeatList
SELECT worker_id, host, pid, lock_mode, threads, interval_ms,
       campaignq_micros(started_at), campaignq_micros(last_seen_at),
       campaignq_micros(stopped_at), decided_last_minute, errors_last_minute,
       campaignq_micros(clock_timestamp()) - campaignq_micros(last_seen_at)
FROM worker_heartbeats
ORDER BY started_at, worker_id;
