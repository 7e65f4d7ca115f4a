-- Campaign statements. Rows come back in the column order
-- store::CampaignFromRow (common/store/rows.cc) reads: id, name,
-- max_participants, approved_count, waitlist, status, created_at, closed_at
-- (timestamps as microseconds since the epoch).

-- name: CampaignInsert
-- $1 name, $2 max_participants (NULL: unlimited), $3 waitlist.
INSERT INTO campaigns (name, max_participants, waitlist)
VALUES ($1, $2, $3)
RETURNING id, name, max_participants, approved_count, waitlist, status,
          campaignq_micros(created_at), campaignq_micros(closed_at);

-- name: CampaignGet
SELECT id, name, max_participants, approved_count, waitlist, status,
       campaignq_micros(created_at), campaignq_micros(closed_at)
FROM campaigns WHERE id = $1;

-- name: CampaignListAfter
-- Keyset paging: $1 the last id of the previous page (0 at the start), $2 limit.
SELECT id, name, max_participants, approved_count, waitlist, status,
       campaignq_micros(created_at), campaignq_micros(closed_at)
FROM campaigns WHERE id > $1 ORDER BY id LIMIT $2;

-- name: CampaignLock
-- The campaign lock every writer of a campaign's applications takes first
-- (global lock order: campaign, then its applications in id order). NO KEY:
-- concurrent Applies hold FOR KEY SHARE on this row for their foreign key;
-- FOR UPDATE would make them wait.
SELECT status FROM campaigns WHERE id = $1 FOR NO KEY UPDATE;

-- name: CampaignMarkClosed
-- Takes the campaign lock as a side effect of the UPDATE; idempotent.
UPDATE campaigns
SET status = 'closed', closed_at = coalesce(closed_at, clock_timestamp())
WHERE id = $1
RETURNING id, name, max_participants, approved_count, waitlist, status,
          campaignq_micros(created_at), campaignq_micros(closed_at);

-- name: CampaignAdjustApproved
-- $2 is +1 or -1; the CHECK constraints keep it within [0, cap].
UPDATE campaigns SET approved_count = approved_count + $2 WHERE id = $1;
