-- Campaign statements. Rows come back in the column order
-- store::CampaignFromRow (common/store/rows.cc) reads: id, name,
-- max_participants, approved_count, waitlist, status, created_at, closed_at,
-- opens_at, closes_at, paused, prequeue_opens_at, queue_seed, hold_duration_ms,
-- held_count, max_active_holds (timestamps as microseconds since the epoch;
-- the seed NULL until opens_at: migration 0009; holds: migration 0008).

-- name: CampaignInsert
-- $1 name, $2 max_participants (NULL: unlimited), $3 waitlist, $4/$5
-- opens_at/closes_at in microseconds (NULL: none), $6/$7 request id and
-- digest (NULL: none), $8 prequeue_opens_at in microseconds (NULL: none),
-- $9 hold_duration_ms and $10 max_active_holds (NULL: none).
-- queue_seed is drawn by its column default. With a request id already used, inserts nothing and
-- returns no row: the caller reads CampaignGetByRequestId (a concurrent
-- twin waits here for the first to commit, then sees its row).
INSERT INTO campaigns (name, max_participants, waitlist, opens_at, closes_at,
                       request_id, request_digest, prequeue_opens_at, hold_duration_ms,
                       max_active_holds)
VALUES ($1, $2, $3, campaignq_timestamp($4), campaignq_timestamp($5), $6, $7,
        campaignq_timestamp($8), $9, $10)
ON CONFLICT ON CONSTRAINT campaigns_request_id_unique DO NOTHING
RETURNING id, name, max_participants, approved_count, waitlist, status,
          campaignq_micros(created_at), campaignq_micros(closed_at),
          campaignq_micros(opens_at), campaignq_micros(closes_at), paused,
          campaignq_micros(prequeue_opens_at), campaignq_published_seed(queue_seed, opens_at),
          hold_duration_ms, held_count, max_active_holds;

-- name: CampaignGet
SELECT id, name, max_participants, approved_count, waitlist, status,
       campaignq_micros(created_at), campaignq_micros(closed_at),
       campaignq_micros(opens_at), campaignq_micros(closes_at), paused,
          campaignq_micros(prequeue_opens_at), campaignq_published_seed(queue_seed, opens_at),
          hold_duration_ms, held_count, max_active_holds
FROM campaigns WHERE id = $1;

-- name: CampaignGetByRequestId
-- The campaign a CreateCampaign with this request id made, and the digest
-- of that request (last column).
SELECT id, name, max_participants, approved_count, waitlist, status,
       campaignq_micros(created_at), campaignq_micros(closed_at),
       campaignq_micros(opens_at), campaignq_micros(closes_at), paused,
          campaignq_micros(prequeue_opens_at), campaignq_published_seed(queue_seed, opens_at),
          hold_duration_ms, held_count, max_active_holds,
       request_digest
FROM campaigns WHERE request_id = $1;

-- name: CampaignListAfter
-- Keyset paging: $1 the last id of the previous page (0 at the start), $2 limit.
SELECT id, name, max_participants, approved_count, waitlist, status,
       campaignq_micros(created_at), campaignq_micros(closed_at),
       campaignq_micros(opens_at), campaignq_micros(closes_at), paused,
          campaignq_micros(prequeue_opens_at), campaignq_published_seed(queue_seed, opens_at),
          hold_duration_ms, held_count, max_active_holds
FROM campaigns WHERE id > $1 ORDER BY id LIMIT $2;

-- name: CampaignLock
-- The campaign lock every writer of a campaign's applications takes first
-- (global lock order: campaign, then its applications in id order). NO KEY:
-- concurrent Applies hold FOR KEY SHARE on this row for their foreign key;
-- FOR UPDATE would make them wait. Returns the status as deciding sees it:
-- 'closed' from closes_at on, before the maintenance close marks it so
-- (campaignq_closed, migration 0006).
SELECT CASE WHEN campaignq_closed(status, closes_at) THEN 'closed' ELSE status END
FROM campaigns WHERE id = $1 FOR NO KEY UPDATE;

-- name: CampaignMarkClosed
-- Takes the campaign lock as a side effect of the UPDATE; idempotent.
-- Clears paused: workers skip paused campaigns, and the pending row of an
-- Apply that commits after the close must still be rejected (migration 0006).
UPDATE campaigns
SET status = 'closed', paused = false, closed_at = coalesce(closed_at, clock_timestamp())
WHERE id = $1
RETURNING id, name, max_participants, approved_count, waitlist, status,
          campaignq_micros(created_at), campaignq_micros(closed_at),
          campaignq_micros(opens_at), campaignq_micros(closes_at), paused,
          campaignq_micros(prequeue_opens_at), campaignq_published_seed(queue_seed, opens_at),
          hold_duration_ms, held_count, max_active_holds;

-- name: CampaignSetPaused
-- $2 true (pause) or false (resume). Run under the campaign lock.
UPDATE campaigns SET paused = $2 WHERE id = $1
RETURNING id, name, max_participants, approved_count, waitlist, status,
          campaignq_micros(created_at), campaignq_micros(closed_at),
          campaignq_micros(opens_at), campaignq_micros(closes_at), paused,
          campaignq_micros(prequeue_opens_at), campaignq_published_seed(queue_seed, opens_at),
          hold_duration_ms, held_count, max_active_holds;

-- name: CampaignHoldStats
-- GetQueueStats' hold counters (migration 0008), read from the campaigns'
-- counters as QueueTotals reads its own, never from the history: the totals
-- over every campaign (id NULL) and then, for the campaigns of $1
-- (bigint[], the page), each one's own. held now; released and expired
-- ever, including holds whose rows retention deleted. Cost: one row per
-- campaign.
SELECT NULL::bigint, coalesce(sum(held_count), 0)::bigint,
       coalesce(sum(released_count), 0)::bigint, coalesce(sum(expired_count), 0)::bigint
FROM campaigns
UNION ALL
SELECT id, held_count, released_count, expired_count
FROM campaigns WHERE id = ANY ($1::bigint[]);

-- name: CampaignDelete
-- Run under the campaign lock, after its applications are gone.
DELETE FROM campaigns WHERE id = $1 AND status = 'closed';

-- name: CampaignDueToClose
-- Open campaigns whose closes_at has passed, earliest first; $1 limit.
SELECT id FROM campaigns
WHERE status = 'open' AND closes_at IS NOT NULL AND closes_at <= clock_timestamp()
ORDER BY closes_at LIMIT $1;

-- name: CampaignNextCloseInMicros
-- Microseconds until the next scheduled close (NULL: none scheduled).
SELECT campaignq_micros(min(closes_at)) - campaignq_micros(clock_timestamp())
FROM campaigns WHERE status = 'open' AND closes_at IS NOT NULL;

-- name: CampaignAnnounceOpenings
-- Pre-queues whose opens_at has passed and that no leader announced yet
-- ($1 limit, earliest first): marks them announced and wakes idle workers
-- for each (sent at COMMIT). Work done at the opening: one row per
-- campaign, none per pre-queued application (their keys are in the index
-- already).
WITH due AS (
    SELECT id FROM campaigns
    WHERE prequeue_opens_at IS NOT NULL AND opening_announced_at IS NULL
      AND opens_at <= clock_timestamp()
    ORDER BY opens_at LIMIT $1
), announced AS (
    UPDATE campaigns c SET opening_announced_at = clock_timestamp()
    FROM due WHERE c.id = due.id
    RETURNING c.id
)
SELECT id, pg_notify('campaignq_pending', id::text) FROM announced;

-- name: CampaignNextOpeningInMicros
-- Microseconds until the next pre-queue opens (NULL: none to announce).
SELECT campaignq_micros(min(opens_at)) - campaignq_micros(clock_timestamp())
FROM campaigns WHERE prequeue_opens_at IS NOT NULL AND opening_announced_at IS NULL;

-- name: CampaignDueForPurge
-- Closed campaigns whose decided applications are older than the retention
-- ($1 microseconds since closing) and not yet purged; $2 limit.
SELECT id FROM campaigns
WHERE status = 'closed' AND purged_at IS NULL
  AND closed_at < clock_timestamp() - $1 * interval '1 microsecond'
ORDER BY closed_at LIMIT $2;

-- name: CampaignMarkPurged
UPDATE campaigns SET purged_at = clock_timestamp() WHERE id = $1 AND status = 'closed';

-- name: MaintenanceTryLead
-- The maintenance leader's lock, for this transaction only (so it works
-- through transaction poolers too): whoever gets it closes due campaigns and
-- purges this tick; everyone else skips it. Key: "campaignq-maintenance".
SELECT pg_try_advisory_xact_lock(7164506171753181234);

-- name: CampaignNotifyPending
-- Wakes idle workers for campaign $1 (payload: its id) when work became
-- claimable without an Apply: a resume, a retry. Inside the transaction, so
-- it is sent at COMMIT and only then (unlike QueueNotifyPending, which runs
-- alone with synchronous_commit off and must not share a durable commit).
SELECT pg_notify('campaignq_pending', $1::text);
