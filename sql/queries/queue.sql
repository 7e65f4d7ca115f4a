-- The worker's claim protocol, statement by statement. A batch is one READ
-- COMMITTED transaction:
--   1. Lock one campaign with pending work, the one whose oldest pending
--      application is oldest (fair across campaigns): CampaignClaimSkipLocked
--      (and, rarely, CampaignClaimSkipLockedAnywhere), or
--      CampaignNextWithPending then CampaignLockNowait (nowait mode) or
--      CampaignLock (blocking mode, kept to compare).
--   2. ApplicationDecideBatch: in a new statement, so with a fresh snapshot
--      that sees every decision committed before our lock was granted, lock
--      the campaign's oldest pending applications in id order and decide them.
--   3. QueueNotifyDecided, then COMMIT.
-- The row locks are the lease: if the worker dies, PostgreSQL rolls back and
-- the next worker claims the campaign.
--
-- Index choice. Reading a campaign's oldest pending rows must use the
-- partial index applications_pending_by_campaign (campaign_id, id), never
-- the primary key: a primary-key walk in id order skips every row already
-- decided, so each batch costs more than the last. With "campaign_id = $1"
-- the planner drops campaign_id from the ordering and, when its statistics
-- still say most rows are pending (right after a burst of Applies), picks
-- the primary key. "campaign_id BETWEEN $1 AND $1" with ORDER BY
-- campaign_id, id is the same rows, but only the partial index returns
-- them in that order. Measured on 200,000 pending rows of one campaign:
-- 8,300 decisions/s with "=", 2x and more with BETWEEN (bench/RESULTS.md).

-- name: CampaignClaimSkipLocked
-- $1 campaign ids to leave out (bigint[] text form; '{}' for none).
-- Campaigns other workers hold are skipped, never waited for. Looks only at
-- the campaigns owning the 512 oldest pending applications: among those,
-- the unlocked one with the oldest head is the fairest campaign overall
-- (any other campaign's head is younger than all 512). So the claim costs
-- the same with 20 campaigns or 10,000. When every campaign in that window
-- is held or left out, CampaignClaimSkipLockedAnywhere looks at all.
WITH window_heads AS (
    SELECT campaign_id, min(id) AS head_id
    FROM (SELECT campaign_id, id FROM applications
          WHERE status = 'pending' ORDER BY id LIMIT 512) oldest
    GROUP BY campaign_id
)
SELECT c.id
FROM window_heads h JOIN campaigns c ON c.id = h.campaign_id
WHERE c.id <> ALL ($1::bigint[])
ORDER BY h.head_id
LIMIT 1
FOR NO KEY UPDATE OF c SKIP LOCKED;

-- name: CampaignClaimSkipLockedAnywhere
-- The same claim over every campaign with pending work (one index probe
-- per campaign, campaign_queue_heads).
SELECT c.id
FROM campaign_queue_heads h JOIN campaigns c ON c.id = h.campaign_id
WHERE c.id <> ALL ($1::bigint[])
ORDER BY h.head_id
LIMIT 1
FOR NO KEY UPDATE OF c SKIP LOCKED;

-- name: CampaignNextWithPending
-- For the nowait and blocking modes: the fairest candidate, not locked yet;
-- the worker then locks it by id (CampaignLockNowait or CampaignLock), so it
-- knows which campaign to back off from when the lock is refused.
SELECT campaign_id FROM campaign_queue_heads
WHERE campaign_id <> ALL ($1::bigint[])
ORDER BY head_id
LIMIT 1;

-- name: CampaignLockNowait
-- Fails at once with SQLSTATE 55P03 (lock_not_available) when another
-- worker holds the campaign.
SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE NOWAIT;

-- name: ApplicationDecideBatch
-- $1 the campaign this transaction holds, $2 batch size, $3 one application
-- to decide alone (0: any; an isolated retry after a deterministic error,
-- so that the error is known to be about that application). Decides up to $2
-- of its oldest pending applications in id order: approved while seats
-- remain, then waitlisted (or rejected as campaign_full without a waitlist);
-- everything rejected as campaign_closed once closed. Each UPDATE is guarded
-- by status = 'pending', and approved_count grows by the rows actually
-- approved. Returns one row per decided application: id, status, and how
-- long it waited from Apply to this decision (microseconds).
WITH campaign AS (
    SELECT max_participants, approved_count, waitlist, status
    FROM campaigns WHERE id = $1
), picked AS (
    SELECT id FROM applications
    WHERE campaign_id BETWEEN $1 AND $1 AND status = 'pending'  -- see "Index choice"
      AND ($3::bigint = 0 OR id = $3)
    ORDER BY campaign_id, id
    LIMIT $2
    FOR UPDATE
), ranked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS position FROM picked
), verdicts AS (
    SELECT r.id,
           CASE WHEN c.status = 'closed' THEN 'rejected'
                WHEN c.max_participants IS NULL
                  OR r.position <= c.max_participants - c.approved_count THEN 'approved'
                WHEN c.waitlist THEN 'waitlisted'
                ELSE 'rejected' END AS status,
           CASE WHEN c.status = 'closed' THEN 'campaign_closed'
                WHEN c.max_participants IS NULL
                  OR r.position <= c.max_participants - c.approved_count THEN NULL
                WHEN c.waitlist THEN NULL
                ELSE 'campaign_full' END AS reason
    FROM ranked r CROSS JOIN campaign c
), decided AS (
    UPDATE applications a
    SET status = v.status, reason = v.reason,
        decided_at = clock_timestamp(), updated_at = clock_timestamp()
    FROM verdicts v
    WHERE a.id = v.id AND a.status = 'pending'
    RETURNING a.id, a.status,
              campaignq_micros(a.decided_at) - campaignq_micros(a.created_at) AS waited_micros
), counted AS (
    UPDATE campaigns
    SET approved_count = approved_count
            + (SELECT count(*) FROM decided WHERE status = 'approved'),
        last_decided_at = clock_timestamp()
    WHERE id = $1
    RETURNING approved_count
)
SELECT d.id, d.status, d.waited_micros FROM decided d, counted ORDER BY d.id;

-- name: ApplicationRecordFailure
-- A deterministic error while deciding application $1 alone (pending; the
-- caller holds its campaign's lock): count the
-- attempt and keep $2 as last_error; after $3 attempts it is failed, out of
-- the queue and out of the cap and FCFS counts.
UPDATE applications
SET attempts = attempts + 1, last_error = $2,
    status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE status END,
    decided_at = CASE WHEN attempts + 1 >= $3 THEN clock_timestamp() END,
    updated_at = clock_timestamp()
WHERE id = $1 AND status = 'pending'
RETURNING status;

-- name: ApplicationHeadOfCampaign
-- The campaign's oldest pending application: the one an isolated batch
-- decides alone ($3 of ApplicationDecideBatch).
SELECT id FROM applications
WHERE campaign_id BETWEEN $1 AND $1 AND status = 'pending'  -- see "Index choice"
ORDER BY campaign_id, id LIMIT 1;

-- name: QueueNotifyPending
-- $1 campaign ids (bigint[] text form, built from ids only). Wakes idle
-- workers after Applies committed; sent by one thread, coalesced, with
-- synchronous_commit off (a wake-up is a hint: workers also poll). See
-- common/store/pending_notifier.h for why not inside the Apply transaction.
SELECT set_config('synchronous_commit', 'off', true),
       pg_notify('campaignq_pending', campaign_id::text)
FROM unnest($1::bigint[]) AS campaign_id;

-- name: QueueNotifyDecided
-- One notification per decided batch (NOTIFY takes a global lock at commit,
-- so never one per row). Payload: the campaign id; watchers re-read.
SELECT pg_notify('campaignq_decided', $1::text);

-- name: QueueCountsByStatus
SELECT status, count(*) FROM applications GROUP BY status;

-- name: QueueOldestPendingMicros
-- Age of the oldest pending application in microseconds (NULL: none).
SELECT campaignq_micros(clock_timestamp())
       - campaignq_micros(min(a.created_at))
FROM campaign_queue_heads h JOIN applications a ON a.id = h.head_id;

-- name: QueueCampaignStats
-- $1 stall threshold in microseconds. Open campaigns and campaigns that
-- still have pending work, with their backlog; stalled: pending work older
-- than the threshold and no decision within it.
SELECT c.id, c.name, c.max_participants, c.approved_count, c.status,
       count(*) FILTER (WHERE a.status = 'pending') AS pending,
       count(*) FILTER (WHERE a.status = 'waitlisted') AS waitlisted,
       coalesce(campaignq_micros(clock_timestamp())
                - campaignq_micros(min(a.created_at) FILTER (WHERE a.status = 'pending')), 0),
       coalesce(min(a.created_at) FILTER (WHERE a.status = 'pending')
                    < clock_timestamp() - make_interval(secs => $1 / 1e6)
                AND (c.last_decided_at IS NULL
                     OR c.last_decided_at < clock_timestamp() - make_interval(secs => $1 / 1e6)),
                false) AS stalled
FROM campaigns c
LEFT JOIN applications a
       ON a.campaign_id = c.id AND a.status IN ('pending', 'waitlisted')
GROUP BY c.id
HAVING c.status = 'open' OR count(*) FILTER (WHERE a.status = 'pending') > 0
ORDER BY c.id
LIMIT 1000;

-- name: QueueDepth
-- For the metrics gauges: pending applications and the age of the oldest
-- (microseconds; NULL when none). Reads only the pending partial index.
SELECT count(*),
       campaignq_micros(clock_timestamp()) - campaignq_micros(min(created_at))
FROM applications WHERE status = 'pending';
