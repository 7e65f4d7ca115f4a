-- Application statements. Rows come back in the column order
-- store::ApplicationFromRow (common/store/rows.cc) reads: id, campaign_id,
-- user_id, status, reason, last_error, attempts, created_at, decided_at,
-- updated_at, hold_expires_at (timestamps as microseconds since the epoch).

-- name: ApplicationInsertBatch
-- Group commit: a whole batch of Applies in one statement ($1 the campaign
-- ids, $2 the user ids, arrays of equal length: the i-th Apply is element i
-- of both), so a batch costs one round trip and one COMMIT (one WAL flush).
-- Each Apply keeps its own outcome: one row per Apply in input order
-- (position i, from 1), with the campaign's status (NULL: no such campaign), the inserted row (all
-- NULL when the campaign is closed, not yet open or the user already
-- applied) and when the campaign accepts Applies (its prequeue_opens_at,
-- else its opens_at): nothing
-- here raises an error for one bad Apply, so none can fail the others.
-- No NOTIFY here: PendingNotifier wakes the workers after the commit.
-- The caller never puts the same (campaign, user) twice into one batch.
WITH input (position, campaign_id, user_id) AS (
    SELECT u.position, u.campaign_id, u.user_id
    FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u (campaign_id, user_id, position)
), wanted AS (
    -- The schedule counts as the status: before opens_at (or before
    -- prequeue_opens_at when it has a pre-queue) 'not_yet_open', from
    -- closes_at on 'closed' (the maintenance leader closes the row within a
    -- second; no Apply slips in meanwhile). One clock reading per row, so
    -- an Apply is either in the pre-queue (its random key, below every
    -- later arrival: migration 0009) or an arrival, never between.
    SELECT i.position, i.campaign_id, i.user_id, c.queue_seed,
           CASE WHEN c.status = 'open' AND coalesce(c.prequeue_opens_at, c.opens_at) > t.now
                  THEN 'not_yet_open'
                WHEN c.status = 'open' AND c.closes_at <= t.now THEN 'closed'
                ELSE c.status END AS campaign_status,
           c.opens_at > t.now AS prequeued,
           campaignq_micros(coalesce(c.prequeue_opens_at, c.opens_at)) AS opens_micros
    FROM input i LEFT JOIN campaigns c ON c.id = i.campaign_id
    CROSS JOIN LATERAL (SELECT clock_timestamp() AS now) t
), inserted AS (
    INSERT INTO applications (campaign_id, user_id, prequeue_key)
    SELECT campaign_id, user_id,
           CASE WHEN prequeued THEN campaignq_prequeue_key(queue_seed, campaign_id, user_id) END
    FROM wanted WHERE campaign_status = 'open'
    ORDER BY position
    ON CONFLICT (campaign_id, user_id) DO NOTHING
    RETURNING id, campaign_id, user_id, status, reason, last_error, attempts,
              campaignq_micros(created_at) AS created_micros,
              campaignq_micros(decided_at) AS decided_micros,
              campaignq_micros(updated_at) AS updated_micros,
              campaignq_micros(hold_expires_at) AS hold_expires_micros
)
SELECT w.position, w.campaign_status,
       ins.id, ins.campaign_id, ins.user_id, ins.status, ins.reason, ins.last_error,
       ins.attempts, ins.created_micros, ins.decided_micros, ins.updated_micros,
       ins.hold_expires_micros, w.opens_micros
FROM wanted w
LEFT JOIN inserted ins ON ins.campaign_id = w.campaign_id AND ins.user_id = w.user_id
ORDER BY w.position;

-- name: ApplicationGet
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
FROM applications WHERE id = $1;

-- name: ApplicationGetInLine
-- GetApplication with its place in line: $1 application id. Eight columns
-- of place, then the application's (store::ApplicationFromRow at column 8):
--   ahead, window_id, head_id  NULL unless the application is pending or
--              waitlisted and its campaign has opened (a pre-queue's order
--              stays secret until the opening); else how many of its status
--              are ahead of it in its campaign, counted up to 10,001, the
--              oldest of those counted, and the first in that line
--              (store::PlaceFromCounts: exact up to 10,000, estimated beyond)
--   decided, freed, sampled_micros  the campaign's progress counters and
--              when they were read (server/wait_estimator.h)
--   in_line    whether the three first are set
--   own_key    the application's queue key
-- The line is the queue order, (queue_key, id) (migration 0009), in the six
-- lines marked "queue order" below; window_id and head_id are queue keys.
-- Index-only reads of the partial indexes, walking back from the
-- application: "BETWEEN" and campaign_id in the ORDER BY (see "Index
-- choice" in queue.sql), and the status fixed per branch (a branch whose
-- status is not the application's is a one-time filter, never run). At
-- most 10,001 index entries and one probe of the head, however long the
-- line.
SELECT p.ahead, p.window_id, p.head_id,
       c.approved_count + c.rejected_count + c.cancelled_count + c.failed_count AS decided,
       c.cancelled_count + c.released_count + c.expired_count AS freed,
       campaignq_micros(clock_timestamp()) AS sampled_micros,
       p.ahead IS NOT NULL AS in_line,
       a.queue_key AS own_key,
       a.id, a.campaign_id, a.user_id, a.status, a.reason, a.last_error, a.attempts,
       campaignq_micros(a.created_at), campaignq_micros(a.decided_at),
       campaignq_micros(a.updated_at), campaignq_micros(a.hold_expires_at)
FROM applications a
JOIN campaigns c ON c.id = a.campaign_id
CROSS JOIN LATERAL (SELECT c.opens_at IS NULL OR c.opens_at <= now() AS opened) o
LEFT JOIN LATERAL (
    SELECT count(*) AS ahead, min(w.queue_key) AS window_id,
           CASE a.status
             WHEN 'pending' THEN
               (SELECT h.queue_key FROM applications h
                WHERE h.status = 'pending' AND h.campaign_id BETWEEN a.campaign_id AND a.campaign_id
                ORDER BY h.campaign_id, h.queue_key, h.id LIMIT 1)                 -- queue order
             ELSE
               (SELECT h.queue_key FROM applications h
                WHERE h.status = 'waitlisted' AND h.campaign_id BETWEEN a.campaign_id AND a.campaign_id
                ORDER BY h.campaign_id, h.queue_key, h.id LIMIT 1)                 -- queue order
           END AS head_id
    FROM ((SELECT x.queue_key FROM applications x
           WHERE a.status = 'pending' AND o.opened AND x.status = 'pending'
             AND x.campaign_id BETWEEN a.campaign_id AND a.campaign_id
             AND (x.queue_key, x.id) < (a.queue_key, a.id)                         -- queue order
           ORDER BY x.campaign_id DESC, x.queue_key DESC, x.id DESC LIMIT 10001)   -- queue order
          UNION ALL
          (SELECT x.queue_key FROM applications x
           WHERE a.status = 'waitlisted' AND o.opened AND x.status = 'waitlisted'
             AND x.campaign_id BETWEEN a.campaign_id AND a.campaign_id
             AND (x.queue_key, x.id) < (a.queue_key, a.id)                         -- queue order
           ORDER BY x.campaign_id DESC, x.queue_key DESC, x.id DESC LIMIT 10001)) w -- queue order
) p ON o.opened AND a.status IN ('pending', 'waitlisted')
WHERE a.id = $1;

-- name: ApplicationGetByUser
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
FROM applications WHERE campaign_id = $1 AND user_id = $2;

-- name: ApplicationListAfter
-- Every campaign's applications in id order: $1 status ('': all), $2 last id
-- of the previous page (0 at the start), $3 limit, $4 user id ('': all).
-- Pending, failed and cancelled rows come a page at a time from their
-- partial indexes on (id); approved and rejected walk the primary key from
-- the page token and stop after one page of matches. Waitlisted rows have
-- ApplicationListWaitlistedAfter, one user's rows ApplicationListOfUserAfter
-- (store::PlanApplicationList routes them; $4 is '' here then).
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
FROM applications
WHERE ($1 = '' OR status = $1) AND id > $2 AND ($4 = '' OR user_id = $4)
ORDER BY id LIMIT $3;

-- name: ApplicationListWaitlistedAfter
-- ApplicationListAfter for status 'waitlisted': $1 last id of the previous
-- page (0 at the start), $2 limit, $3 user id ('': all). Waitlisted rows have no index on (id): the claim would pay
-- for it on every waitlisting. Here the primary key would be walked from
-- the start of the history (waitlisted rows are the newest), so instead:
-- each campaign that has a waitlist (a loose index scan of
-- applications_waitlisted_by_campaign, as campaign_queue_heads), up to one
-- page of its oldest waitlisted rows after the token, and the first page
-- of all of those in id order. Cost: campaigns with a waitlist x one page.
WITH RECURSIVE waitlisting (campaign_id) AS (
    (SELECT campaign_id FROM applications WHERE status = 'waitlisted'
     ORDER BY campaign_id LIMIT 1)
    UNION ALL
    SELECT (SELECT a.campaign_id FROM applications a
            WHERE a.status = 'waitlisted' AND a.campaign_id > w.campaign_id
            ORDER BY a.campaign_id LIMIT 1)
    FROM waitlisting w
    WHERE w.campaign_id IS NOT NULL
)
SELECT a.id, a.campaign_id, a.user_id, a.status, a.reason, a.last_error, a.attempts,
       campaignq_micros(a.created_at), campaignq_micros(a.decided_at),
       campaignq_micros(a.updated_at), campaignq_micros(a.hold_expires_at)
FROM waitlisting w
CROSS JOIN LATERAL (
    -- The index is in queue order (migration 0009): the arrivals' part of
    -- it (queue_key = id, so "queue_key > $1" is "id > $1") is id order;
    -- pre-queued rows (queue_key < 0) are shuffled, so they are sorted:
    -- a campaign's pre-queued waitlist, not its whole waitlist.
    (SELECT * FROM applications a
     WHERE a.campaign_id BETWEEN w.campaign_id AND w.campaign_id  -- see "Index choice"
       AND a.status = 'waitlisted' AND a.queue_key > $1 AND ($3 = '' OR a.user_id = $3)
     ORDER BY a.campaign_id, a.queue_key, a.id LIMIT $2)
    UNION ALL
    (SELECT * FROM applications a
     WHERE a.campaign_id BETWEEN w.campaign_id AND w.campaign_id
       AND a.status = 'waitlisted' AND a.queue_key < 0 AND a.id > $1
       AND ($3 = '' OR a.user_id = $3)
     ORDER BY a.id LIMIT $2)) a
WHERE w.campaign_id IS NOT NULL
ORDER BY a.id LIMIT $2;

-- name: ApplicationListOfUserAfter
-- One user's applications in id order, over every campaign: $1 user id,
-- $2 status ('': all), $3 last id of the previous page (0 at the start), $4
-- limit. An applicant's own list (authorization forces its user id):
-- applications_by_user (user_id, id) (migration 0007) returns its rows in
-- id order from the token, so a page reads that user's rows only (at most
-- all of them with a status filter), however long everyone else's history.
-- With a status filter the planner walked that status's partial index on
-- (id) instead, filtering on the user: every failed row of the history for
-- a user's failed ones (tests/list_plans_db_test). "status || ''" is not
-- "status", so no partial index's predicate matches it; "BETWEEN" and
-- "ORDER BY user_id, id" (as in "Index choice", queue.sql) leave the
-- primary key no order to offer: only applications_by_user returns
-- (user_id, id) order.
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
FROM applications
WHERE user_id BETWEEN $1 AND $1 AND ($2 = '' OR status || '' = $2) AND id > $3
ORDER BY user_id, id LIMIT $4;

-- name: ApplicationListOfCampaignAfter
-- One campaign's applications in id order: $1 campaign id, then as
-- ApplicationListAfter. Only that campaign's rows are read, never the
-- primary key across every campaign: "BETWEEN" and "ORDER BY campaign_id,
-- id" (see "Index choice" in queue.sql) make the failed and cancelled
-- partial indexes return a page in order, and every other status read the
-- campaign's rows through applications_one_per_user. Pending and waitlisted
-- without a user id: ApplicationListQueuedOfCampaignAfter (their indexes
-- are in queue order; store::PlanApplicationList routes them).
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
FROM applications
WHERE campaign_id BETWEEN $1 AND $1 AND ($2 = '' OR status = $2) AND id > $3
  AND ($5 = '' OR user_id = $5)
ORDER BY campaign_id, id LIMIT $4;

-- name: ApplicationListQueuedOfCampaignAfter
-- ApplicationListOfCampaignAfter for status $2 'pending' or 'waitlisted'
-- and no user id: $1 campaign id, $3 last id of the previous page (0 at the
-- start), $4 limit; id order. Their partial indexes are in queue order
-- (campaign_id, queue_key, id; migration 0009). An arrival's queue_key is
-- its id, so "queue_key > $3" in that index is a page in id order; the
-- pre-queued rows (queue_key < 0, shuffled) are sorted by id instead: the
-- cost is a page plus the campaign's pre-queued rows of that status.
SELECT a.id, a.campaign_id, a.user_id, a.status, a.reason, a.last_error, a.attempts,
       campaignq_micros(a.created_at), campaignq_micros(a.decided_at),
       campaignq_micros(a.updated_at), campaignq_micros(a.hold_expires_at)
FROM ((SELECT * FROM applications
       WHERE campaign_id BETWEEN $1 AND $1 AND status = $2 AND queue_key > $3  -- "Index choice"
       ORDER BY campaign_id, queue_key, id LIMIT $4)
      UNION ALL
      (SELECT * FROM applications
       WHERE campaign_id BETWEEN $1 AND $1 AND status = $2 AND queue_key < 0 AND id > $3
       ORDER BY id LIMIT $4)) a
ORDER BY a.id LIMIT $4;

-- name: ApplicationLock
-- Taken only while holding the application's campaign lock.
SELECT status FROM applications WHERE id = $1 FOR UPDATE;

-- name: ApplicationCancel
-- $2: the status the caller saw under the lock; zero rows means it changed.
-- Counts the cancellation on the campaign row (migration 0004), whose lock
-- the caller holds.
WITH cancelled AS (
    UPDATE applications
    SET status = 'cancelled', reason = NULL, hold_expires_at = NULL,
        decided_at = coalesce(decided_at, clock_timestamp()),
        updated_at = clock_timestamp()
    WHERE id = $1 AND status = $2
    RETURNING id, campaign_id, user_id, status, reason, last_error, attempts,
              campaignq_micros(created_at), campaignq_micros(decided_at),
              campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
), counted AS (
    UPDATE campaigns c SET cancelled_count = c.cancelled_count + 1
    FROM cancelled WHERE c.id = cancelled.campaign_id
)
SELECT * FROM cancelled;

-- name: ApplicationFillFreeSeats
-- Under the campaign lock, after a seat may have come back: $2 -1 gives
-- back the approved seat of a cancelled application, $3 -n the held seats
-- of n cancelled, released or expired holds (0: none; a confirm calls it
-- with none, since its hold's end makes room under max_active_holds). Then the free seats of
-- an open capped campaign go to the waitlisted applications first in line:
-- approved, or held where the campaign has a hold duration (migration
-- 0008), at most max_active_holds outstanding. First in line means the
-- lowest (queue_key, id) among pending and waitlisted rows (the queue
-- order, migration 0009): a retried application keeps its place, so it can
-- be ahead of the waitlist; a seat ahead of it is left free for the worker,
-- whose batch ranks pending and waitlisted rows together
-- (ApplicationDecideBatch). Two index probes and at most one waitlisted row
-- per free seat, however long the waitlist. Returns the promoted ids.
WITH campaign AS (
    SELECT greatest(CASE WHEN hold_duration_ms IS NULL
                         THEN max_participants - (approved_count + $2)
                         ELSE least(max_participants - (approved_count + $2)
                                        - (held_count + $3),
                                    coalesce(max_active_holds - (held_count + $3),
                                             max_participants)) END, 0) AS free_seats,
           hold_duration_ms
    FROM campaigns
    WHERE id = $1 AND max_participants IS NOT NULL AND NOT campaignq_closed(status, closes_at)
), promoted AS (
    UPDATE applications
    SET status = CASE WHEN c.hold_duration_ms IS NULL THEN 'approved' ELSE 'held' END,
        hold_expires_at = clock_timestamp() + c.hold_duration_ms * interval '1 ms',
        updated_at = clock_timestamp()
    FROM campaign c
    WHERE applications.id IN (
        -- BETWEEN: the partial indexes, never a primary-key walk (see
        -- "Index choice" in queue.sql).
        SELECT id FROM applications
        WHERE campaign_id BETWEEN $1 AND $1 AND status = 'waitlisted'
          -- No pending row: NULL, so every waitlisted row is ahead.
          AND ((queue_key, id) < (SELECT p.queue_key, p.id FROM applications p
                                  WHERE p.campaign_id BETWEEN $1 AND $1 AND p.status = 'pending'
                                  ORDER BY p.campaign_id, p.queue_key, p.id LIMIT 1))
              IS NOT FALSE
        ORDER BY campaign_id, queue_key, id
        LIMIT coalesce((SELECT free_seats FROM campaign), 0))
      AND applications.status = 'waitlisted'
    RETURNING applications.id, applications.status
), counted AS (
    UPDATE campaigns
    SET approved_count = approved_count + $2
            + (SELECT count(*) FROM promoted WHERE status = 'approved'),
        held_count = held_count + $3 + (SELECT count(*) FROM promoted WHERE status = 'held')
    WHERE id = $1
)
SELECT id FROM promoted;

-- name: ApplicationConfirmHold
-- Under the campaign lock: hold $1 becomes approved, only while it is held
-- and its hold_expires_at is still ahead of this statement's clock, whether
-- or not a worker has expired it yet (the time is checked here, under the
-- row lock, so a confirm and an expiry cannot both win). Zero rows: not
-- held, or expired. The seat stays taken: it moves from held_count to
-- approved_count; the caller then offers the next hold
-- (ApplicationFillFreeSeats: max_active_holds counts holds, not seats).
WITH confirmed AS (
    UPDATE applications
    SET status = 'approved', hold_expires_at = NULL, updated_at = clock_timestamp()
    WHERE id = $1 AND status = 'held' AND hold_expires_at > clock_timestamp()
    RETURNING id, campaign_id, user_id, status, reason, last_error, attempts,
              campaignq_micros(created_at), campaignq_micros(decided_at),
              campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
), counted AS (
    UPDATE campaigns c SET approved_count = c.approved_count + 1, held_count = c.held_count - 1
    FROM confirmed WHERE c.id = confirmed.campaign_id
)
SELECT * FROM confirmed;

-- name: ApplicationReleaseHold
-- Under the campaign lock: hold $1 declined, final (released_count counts
-- it, migration 0008). The caller then gives its seat back
-- (ApplicationFillFreeSeats with $3 -1). Zero rows: not held.
WITH released AS (
    UPDATE applications
    SET status = 'released', hold_expires_at = NULL, updated_at = clock_timestamp()
    WHERE id = $1 AND status = 'held'
    RETURNING id, campaign_id, user_id, status, reason, last_error, attempts,
              campaignq_micros(created_at), campaignq_micros(decided_at),
              campaignq_micros(updated_at), campaignq_micros(hold_expires_at)
), counted AS (
    UPDATE campaigns c SET released_count = c.released_count + 1
    FROM released WHERE c.id = released.campaign_id
)
SELECT * FROM released;

-- name: ApplicationRejectWaitingOfFullCampaign
-- Under the campaign lock, after a confirmation: a campaign without a
-- waitlist whose every seat is approved has no seat that may come back, so
-- those who waited for one are rejected campaign_full (with a waitlist
-- they keep waiting, as for an approved campaign). At most the waitlisted
-- rows, through their partial index.
WITH campaign AS (
    SELECT id FROM campaigns
    WHERE id = $1 AND NOT waitlist AND approved_count >= max_participants
), rejected AS (
    UPDATE applications a
    SET status = 'rejected', reason = 'campaign_full', updated_at = clock_timestamp()
    FROM campaign c
    WHERE a.campaign_id BETWEEN c.id AND c.id AND a.status = 'waitlisted'  -- see "Index choice"
    RETURNING a.id
), counted AS (
    UPDATE campaigns SET rejected_count = rejected_count + (SELECT count(*) FROM rejected)
    WHERE id = $1 AND EXISTS (SELECT 1 FROM rejected)
)
SELECT id FROM rejected;

-- name: ApplicationRejectOpenOfClosedCampaign
-- Run after CampaignMarkClosed, in its own statement so that its snapshot
-- sees every decision committed before the campaign lock was granted.
-- Counts the rejections on the campaign row (migration 0004).
WITH rejected AS (
    UPDATE applications
    SET status = 'rejected', reason = 'campaign_closed',
        decided_at = coalesce(decided_at, clock_timestamp()),
        updated_at = clock_timestamp()
    WHERE campaign_id = $1 AND status IN ('pending', 'waitlisted')
    RETURNING id
), counted AS (
    UPDATE campaigns SET rejected_count = rejected_count + (SELECT count(*) FROM rejected)
    WHERE id = $1 AND EXISTS (SELECT 1 FROM rejected)
)
SELECT id FROM rejected;

-- name: ApplicationRetryFailed
-- The dead-letter queue: failed applications of campaign $1 (only
-- application $2; 0: all) back to pending with their attempts reset. Their
-- ids, and so their places in first-come-first-served order, stay. Run
-- under the campaign lock (global lock order), on an open campaign.
WITH retried AS (
    UPDATE applications
    SET status = 'pending', reason = NULL, last_error = NULL, attempts = 0,
        decided_at = NULL, updated_at = clock_timestamp()
    WHERE campaign_id = $1 AND status = 'failed' AND ($2 = 0 OR id = $2)
    RETURNING id
), counted AS (
    UPDATE campaigns SET failed_count = failed_count - (SELECT count(*) FROM retried)
    WHERE id = $1 AND EXISTS (SELECT 1 FROM retried)
)
SELECT id FROM retried;

-- name: ApplicationDeleteOfCampaign
-- Up to $2 applications of closed campaign $1 (any order: through the
-- one-per-user index, no sort): deleting in small batches keeps each
-- transaction short and its WAL burst small.
DELETE FROM applications
WHERE id IN (SELECT id FROM applications WHERE campaign_id = $1 LIMIT $2);
