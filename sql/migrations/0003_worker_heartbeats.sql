-- Each campaignq-worker process reports here every few seconds, for the
-- console's Workers page (server/console). A table of its own, written by
-- each worker on its own short transaction, one row per process: it shares
-- no row, lock or index with the claim, so heart-beating adds no contention
-- to deciding applications.
CREATE TABLE worker_heartbeats (
    -- host:pid:start (microseconds): unique per process, even when a pid is
    -- reused on the same host.
    worker_id           text        PRIMARY KEY CHECK (char_length(worker_id) BETWEEN 1 AND 300),
    host                text        NOT NULL,
    pid                 integer     NOT NULL,
    lock_mode           text        NOT NULL,
    threads             integer     NOT NULL CHECK (threads >= 0),
    -- How often this worker promises to beat: readers call it gone after
    -- a few intervals without one.
    interval_ms         integer     NOT NULL CHECK (interval_ms > 0),
    started_at          timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Set by a worker that stopped cleanly (drained), so that it reads as
    -- stopped rather than gone.
    stopped_at          timestamptz,
    decided_last_minute bigint      NOT NULL DEFAULT 0 CHECK (decided_last_minute >= 0),
    errors_last_minute  bigint      NOT NULL DEFAULT 0 CHECK (errors_last_minute >= 0)
);
