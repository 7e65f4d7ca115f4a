-- The service's promises, one query per invariant. Each returns the rows
-- that break it (none when it holds). $1 is always the storm's campaign ids
-- (bigint[] in text form, built from ids only). verify/checks.h says what
-- the kit does with each.

-- name: CheckOverCap
-- (a) More seats offered (approved or held: a hold takes its seat,
-- migration 0008) than the campaign has.
SELECT c.id, c.max_participants, count(a.id)
FROM campaigns c
JOIN applications a ON a.campaign_id = c.id AND a.status IN ('approved', 'held')
WHERE c.id = ANY ($1::bigint[]) AND c.max_participants IS NOT NULL
GROUP BY c.id, c.max_participants
HAVING count(a.id) > c.max_participants;

-- name: CheckCounters
-- (b) The campaign's counters disagree with its rows: approved_count and
-- held_count (the cap's), rejected_count, cancelled_count and failed_count
-- (GetQueueStats', migration 0004), released_count and expired_count
-- (migration 0008). Returns id, then each counter and its rows.
SELECT c.id, c.approved_count, count(a.id) FILTER (WHERE a.status = 'approved'),
       c.rejected_count, count(a.id) FILTER (WHERE a.status = 'rejected'),
       c.cancelled_count, count(a.id) FILTER (WHERE a.status = 'cancelled'),
       c.failed_count, count(a.id) FILTER (WHERE a.status = 'failed'),
       c.held_count, count(a.id) FILTER (WHERE a.status = 'held'),
       c.released_count, count(a.id) FILTER (WHERE a.status = 'released'),
       c.expired_count, count(a.id) FILTER (WHERE a.status = 'expired')
FROM campaigns c LEFT JOIN applications a ON a.campaign_id = c.id
WHERE c.id = ANY ($1::bigint[])
GROUP BY c.id
HAVING count(a.id) FILTER (WHERE a.status = 'approved') <> c.approved_count
    OR count(a.id) FILTER (WHERE a.status = 'rejected') <> c.rejected_count
    OR count(a.id) FILTER (WHERE a.status = 'cancelled') <> c.cancelled_count
    OR count(a.id) FILTER (WHERE a.status = 'failed') <> c.failed_count
    OR count(a.id) FILTER (WHERE a.status = 'held') <> c.held_count
    OR count(a.id) FILTER (WHERE a.status = 'released') <> c.released_count
    OR count(a.id) FILTER (WHERE a.status = 'expired') <> c.expired_count;

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

-- name: CheckStillHeld
-- (e) Holds still outstanding (when every hold is expected to have ended:
-- a storm with holds waits for it).
SELECT id, campaign_id FROM applications
WHERE campaign_id = ANY ($1::bigint[]) AND status = 'held'
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
-- nothing rejected as closed. Offered means approved or held (migration
-- 0008); offers are blocked when every seat is offered or, with
-- max_active_holds, that many are held. Nobody waits while offers are not
-- blocked. No seat given back (nothing cancelled, released or expired):
-- every competing application (stored - failed) is offered, waitlisted or
-- rejected campaign_full; rejected only without a waitlist, and with holds
-- only once every seat is approved (a held one may come back); waitlisted
-- without a waitlist only with holds. Returns one row per campaign the
-- rule applies to: id, 'exact' or 'given back', holds.
WITH per AS (
    SELECT c.id, c.max_participants AS cap, c.waitlist,
           c.hold_duration_ms IS NOT NULL AS holds,
           count(a.id) - count(a.id) FILTER (WHERE a.status = 'failed') AS competing,
           count(a.id) FILTER (WHERE a.status = 'approved') AS approved,
           count(a.id) FILTER (WHERE a.status IN ('approved', 'held')) AS offered,
           count(a.id) FILTER (WHERE a.status = 'waitlisted') AS waitlisted,
           count(a.id) FILTER (WHERE a.status = 'rejected' AND a.reason = 'campaign_full') AS rejected_full,
           count(a.id) FILTER (WHERE a.status IN ('cancelled', 'released', 'expired')) AS given_back,
           count(a.id) FILTER (WHERE a.status = 'pending'
                               OR (a.status = 'rejected' AND a.reason = 'campaign_closed')) AS other,
           c.max_participants IS NOT NULL
             AND (count(a.id) FILTER (WHERE a.status IN ('approved', 'held')) >= c.max_participants
                  OR count(a.id) FILTER (WHERE a.status = 'held')
                     >= coalesce(c.max_active_holds, c.max_participants)) AS blocked
    FROM campaigns c LEFT JOIN applications a ON a.campaign_id = c.id
    WHERE c.id = ANY ($1::bigint[]) AND c.status = 'open'
    GROUP BY c.id
)
SELECT id,
       CASE WHEN given_back = 0 THEN 'exact' ELSE 'given back' END,
       (waitlisted = 0 OR blocked)
       AND CASE WHEN given_back > 0 THEN true
                ELSE offered + waitlisted + rejected_full = competing
                     AND (rejected_full = 0 OR blocked)
                     AND CASE WHEN waitlist THEN rejected_full = 0
                              WHEN holds THEN rejected_full = 0 OR approved = cap
                              ELSE waitlisted = 0 END END
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

-- name: CheckTransitions
-- (j) Every status change the audit saw is one the service makes
-- (docs/holds.md draws them): a decision of a pending row; a promotion
-- from the waitlist (to approved, or held); a hold confirmed, released,
-- expired or cancelled; a cancel of what waits or holds a seat; a close's
-- rejection of what waits; a failed row retried. Returns each other change:
-- application id, old status, new status.
SELECT d.application_id, d.old_status, d.new_status
FROM campaignq_check_audit d JOIN applications a ON a.id = d.application_id
WHERE a.campaign_id = ANY ($1::bigint[])
  AND (d.old_status, d.new_status) NOT IN (
      ('pending', 'approved'), ('pending', 'waitlisted'), ('pending', 'rejected'),
      ('pending', 'held'), ('pending', 'cancelled'), ('pending', 'failed'),
      ('waitlisted', 'approved'), ('waitlisted', 'held'), ('waitlisted', 'rejected'),
      ('waitlisted', 'cancelled'),
      ('held', 'approved'), ('held', 'released'), ('held', 'expired'), ('held', 'cancelled'),
      ('approved', 'cancelled'),
      ('failed', 'pending'))
ORDER BY d.application_id, d.changed_at;

-- name: CheckHoldLateness
-- (l) Holds that expired more than $2 milliseconds after their expiry, by
-- the audit: the offer's change plus the campaign's hold duration (the
-- offer sets hold_expires_at from the same transaction's clock, a few
-- microseconds earlier) to the expiry's change. Returns application id,
-- campaign id, milliseconds late.
SELECT e.application_id, a.campaign_id,
       (campaignq_micros(e.changed_at) - campaignq_micros(h.changed_at)) / 1000
         - c.hold_duration_ms AS late_ms
FROM campaignq_check_audit e
JOIN applications a ON a.id = e.application_id
JOIN campaigns c ON c.id = a.campaign_id
JOIN LATERAL (SELECT max(o.changed_at) AS changed_at FROM campaignq_check_audit o
              WHERE o.application_id = e.application_id AND o.new_status = 'held'
                AND o.changed_at <= e.changed_at) h ON true
WHERE a.campaign_id = ANY ($1::bigint[]) AND e.new_status = 'expired'
  AND h.changed_at IS NOT NULL
  AND (campaignq_micros(e.changed_at) - campaignq_micros(h.changed_at)) / 1000
        - c.hold_duration_ms > $2::bigint
ORDER BY late_ms DESC;
