-- The service's promises, one query per invariant. Each returns the rows
-- that break it (none when it holds). $1 is always the storm's campaign ids
-- (bigint[] in text form, built from ids only). verify/checks.h says what
-- the kit does with each.

-- name: CheckOverCap
-- (a) More approved applications than seats.
SELECT c.id, c.max_participants, count(a.id)
FROM campaigns c JOIN applications a ON a.campaign_id = c.id AND a.status = 'approved'
WHERE c.id = ANY ($1::bigint[]) AND c.max_participants IS NOT NULL
GROUP BY c.id, c.max_participants
HAVING count(a.id) > c.max_participants;

-- name: CheckCounters
-- (b) The campaign's counters disagree with its rows: approved_count (the
-- cap's), rejected_count, cancelled_count and failed_count (GetQueueStats',
-- migration 0004). Returns id, then each counter and its rows.
SELECT c.id, c.approved_count, count(a.id) FILTER (WHERE a.status = 'approved'),
       c.rejected_count, count(a.id) FILTER (WHERE a.status = 'rejected'),
       c.cancelled_count, count(a.id) FILTER (WHERE a.status = 'cancelled'),
       c.failed_count, count(a.id) FILTER (WHERE a.status = 'failed')
FROM campaigns c LEFT JOIN applications a ON a.campaign_id = c.id
WHERE c.id = ANY ($1::bigint[])
GROUP BY c.id
HAVING count(a.id) FILTER (WHERE a.status = 'approved') <> c.approved_count
    OR count(a.id) FILTER (WHERE a.status = 'rejected') <> c.rejected_count
    OR count(a.id) FILTER (WHERE a.status = 'cancelled') <> c.cancelled_count
    OR count(a.id) FILTER (WHERE a.status = 'failed') <> c.failed_count;

-- name: CheckDuplicateUsers
-- (c) One user stored twice for one campaign (the unique constraint says
-- never; this proves the constraint is there).
SELECT campaign_id, user_id, count(*)
FROM applications
WHERE campaign_id = ANY ($1::bigint[])
GROUP BY campaign_id, user_id
HAVING count(*) > 1;

-- name: CheckAcknowledged
-- (d) Acknowledged Applies: $1 campaign ids, $2 user ids (text[]), $3 the
-- application ids the replies named (0: unknown), all of one length, one
-- element per acknowledged Apply. Returns each one that is missing (id
-- NULL), stored under another id, or still pending: campaign, user, replied
-- id, stored id, stored status.
SELECT ack.campaign_id, ack.user_id, ack.application_id, a.id, a.status
FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS ack (campaign_id, user_id, application_id)
LEFT JOIN applications a ON a.campaign_id = ack.campaign_id AND a.user_id = ack.user_id
WHERE a.id IS NULL
   OR (ack.application_id <> 0 AND ack.application_id <> a.id)
   OR a.status = 'pending';

-- name: CheckStillPending
-- (e) Applications nobody decided.
SELECT id, campaign_id FROM applications
WHERE campaign_id = ANY ($1::bigint[]) AND status = 'pending'
ORDER BY id;

-- name: CheckDecidedOnce
-- (f) Each application left 'pending' exactly once (once decided; never
-- while pending), by the audit. Returns each one that did not: id, status,
-- times it left pending.
SELECT a.id, a.status, count(d.application_id)
FROM applications a
LEFT JOIN campaignq_check_audit d ON d.application_id = a.id AND d.old_status = 'pending'
WHERE a.campaign_id = ANY ($1::bigint[])
GROUP BY a.id, a.status
HAVING count(d.application_id) <> CASE WHEN a.status = 'pending' THEN 0 ELSE 1 END;

-- name: CheckFill
-- (g) Seats are filled, for each open campaign with nothing pending and
-- nothing rejected as closed. Nothing cancelled: exactly min(cap, competing)
-- approved, where competing = stored - failed, and every other competing
-- application waitlisted (with a waitlist) or rejected campaign_full
-- (without). Something cancelled: a freed seat goes to the waitlist, so a
-- campaign with a free seat has nobody waitlisted. Returns one row per
-- campaign the rule applies to: id, 'exact' or 'cancelled', holds.
WITH per AS (
    SELECT c.id, c.max_participants AS cap, c.waitlist,
           count(a.id) - count(a.id) FILTER (WHERE a.status = 'failed') AS competing,
           count(a.id) FILTER (WHERE a.status = 'approved') AS approved,
           count(a.id) FILTER (WHERE a.status = 'waitlisted') AS waitlisted,
           count(a.id) FILTER (WHERE a.status = 'rejected' AND a.reason = 'campaign_full') AS rejected_full,
           count(a.id) FILTER (WHERE a.status = 'cancelled') AS cancelled,
           count(a.id) FILTER (WHERE a.status = 'pending'
                               OR (a.status = 'rejected' AND a.reason = 'campaign_closed')) AS other
    FROM campaigns c LEFT JOIN applications a ON a.campaign_id = c.id
    WHERE c.id = ANY ($1::bigint[]) AND c.status = 'open'
    GROUP BY c.id
)
SELECT id,
       CASE WHEN cancelled = 0 THEN 'exact' ELSE 'cancelled' END,
       CASE WHEN cancelled = 0 THEN
                approved = CASE WHEN cap IS NULL THEN competing ELSE least(cap, competing) END
                AND CASE WHEN waitlist THEN waitlisted = competing - approved AND rejected_full = 0
                         ELSE rejected_full = competing - approved AND waitlisted = 0 END
            ELSE cap IS NULL OR approved >= cap OR waitlisted = 0 END
FROM per
WHERE other = 0;

-- name: CheckAttempts
-- (h) Attempts are charged only to applications that failed: a charged
-- application (attempts > 0) says why (last_error), and a failed one was
-- charged. Returns every charged or failed application: id, user, status,
-- attempts, whether it has a last_error. The kit flags the inconsistent ones
-- and any charged application the caller did not expect to fail.
SELECT id, user_id, status, attempts, last_error IS NOT NULL
FROM applications
WHERE campaign_id = ANY ($1::bigint[]) AND (attempts > 0 OR status = 'failed');
