-- What the verification kit reads about a storm's campaigns besides the
-- invariants themselves: progress, per-campaign counts, each application's
-- outcome and the seats given back. $1 is always the storm's campaign ids
-- (bigint[] in text form, built from ids only).

-- name: CheckAllCampaigns
-- Every campaign: for judging a database whose storm ran elsewhere.
SELECT id FROM campaigns ORDER BY id;

-- name: CheckApplicationsInIdOrder
-- Every application of the campaigns, in id order: records for rows that
-- were stored, not applied (a seeded benchmark).
SELECT id, campaign_id, user_id FROM applications
WHERE campaign_id = ANY ($1::bigint[])
ORDER BY id;

-- name: CheckUnsettledCount
-- Applications of the storm's campaigns not decided yet, with (when $2)
-- the holds not ended yet.
SELECT count(*) FROM applications
WHERE campaign_id = ANY ($1::bigint[])
  AND (status = 'pending' OR ($2::boolean AND status = 'held'));

-- name: CheckSampleOffers
-- One sample during a storm (verify/sampler.h), per capped campaign: id,
-- cap, seats offered by its counters and by its rows, holds still held
-- more than $2 milliseconds past their expiry and the largest lateness of
-- a hold still held (0: none late). One statement: one snapshot.
SELECT c.id, c.max_participants, c.approved_count + c.held_count,
       count(a.id) FILTER (WHERE a.status IN ('approved', 'held')),
       count(a.id) FILTER (WHERE a.status = 'held'
                           AND a.hold_expires_at < clock_timestamp() - $2::bigint * interval '1 ms'),
       coalesce(max(campaignq_micros(clock_timestamp()) - campaignq_micros(a.hold_expires_at))
                  FILTER (WHERE a.status = 'held' AND a.hold_expires_at < clock_timestamp()),
                0) / 1000
FROM campaigns c
LEFT JOIN applications a ON a.campaign_id = c.id AND a.status IN ('approved', 'held')
WHERE c.id = ANY ($1::bigint[]) AND c.max_participants IS NOT NULL
GROUP BY c.id
ORDER BY c.id;

-- name: CheckSeatRules
-- What the replay of seats (verify/seats.h) needs of each capped campaign:
-- id, cap, max_active_holds (NULL: none), and whether a freed seat must go
-- to the waitlist in the same transaction (no closes_at, no pre-queue, no
-- failed application retried: nothing pending ahead of the waitlist).
SELECT c.id, c.max_participants, c.max_active_holds,
       c.closes_at IS NULL AND c.prequeue_opens_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM campaignq_check_audit d
                       JOIN applications a ON a.id = d.application_id
                       WHERE a.campaign_id = c.id AND d.old_status = 'failed')
FROM campaigns c
WHERE c.id = ANY ($1::bigint[]) AND c.max_participants IS NOT NULL
ORDER BY c.id;

-- name: CheckSeatChanges
-- Every audited status change of the capped campaigns, in the order their
-- transactions committed (each holds the campaign lock: its changes all
-- come before the next transaction's), then in the order made: campaign,
-- application, transaction (a row of an older audit: one of its own), old
-- status, new status.
WITH d AS (
    SELECT a.campaign_id, d.application_id, d.old_status, d.new_status, d.changed_at,
           coalesce(d.xact, -row_number() OVER (ORDER BY d.changed_at, d.application_id)) AS xact
    FROM campaignq_check_audit d
    JOIN applications a ON a.id = d.application_id
    JOIN campaigns c ON c.id = a.campaign_id AND c.max_participants IS NOT NULL
    WHERE a.campaign_id = ANY ($1::bigint[])
)
SELECT campaign_id, application_id, xact, old_status, new_status
FROM d
ORDER BY campaign_id, min(changed_at) OVER (PARTITION BY campaign_id, xact), xact, changed_at;

-- name: CheckCampaignTallies
-- One row per campaign: cap (NULL: none), waitlist, closed, the counter,
-- then the stored applications by outcome (holds last, migration 0008).
SELECT c.id, c.max_participants, c.waitlist, c.status = 'closed', c.approved_count,
       count(a.id),
       count(a.id) FILTER (WHERE a.status = 'approved'),
       count(a.id) FILTER (WHERE a.status = 'waitlisted'),
       count(a.id) FILTER (WHERE a.status = 'rejected' AND a.reason = 'campaign_full'),
       count(a.id) FILTER (WHERE a.status = 'rejected' AND a.reason IS DISTINCT FROM 'campaign_full'),
       count(a.id) FILTER (WHERE a.status = 'pending'),
       count(a.id) FILTER (WHERE a.status = 'cancelled'),
       count(a.id) FILTER (WHERE a.status = 'failed'),
       count(a.id) FILTER (WHERE a.status = 'held'),
       count(a.id) FILTER (WHERE a.status = 'released'),
       count(a.id) FILTER (WHERE a.status = 'expired')
FROM campaigns c LEFT JOIN applications a ON a.campaign_id = c.id
WHERE c.id = ANY ($1::bigint[])
GROUP BY c.id
ORDER BY c.id;

-- name: CheckOutcomes
-- Every application of the storm's campaigns: what the FCFS check needs.
-- decided_at is microseconds since the epoch (NULL while pending); then the
-- place in line (queue_key: negative for the pre-queue, migration 0009).
SELECT campaign_id, user_id, id, status, coalesce(reason, ''), campaignq_micros(decided_at),
       queue_key
FROM applications
WHERE campaign_id = ANY ($1::bigint[]);

-- name: CheckSeatReleasesAudited
-- Every seat given back: an approved application cancelled, or a hold
-- cancelled, released or expired (migration 0008), dated by the audit
-- (microseconds since the epoch).
SELECT a.campaign_id, campaignq_micros(d.changed_at)
FROM campaignq_check_audit d JOIN applications a ON a.id = d.application_id
WHERE a.campaign_id = ANY ($1::bigint[])
  AND ((d.old_status = 'approved' AND d.new_status = 'cancelled')
       OR (d.old_status = 'held' AND d.new_status IN ('cancelled', 'released', 'expired')));

-- name: CheckSeatReleasesUnaudited
-- Without the audit a cancelled row does not say what it was before: every
-- cancellation, release and expiry counts as a seat given back at its
-- updated_at (such a row is never updated again). Lenient, never a false
-- alarm.
SELECT campaign_id, campaignq_micros(updated_at)
FROM applications
WHERE campaign_id = ANY ($1::bigint[]) AND status IN ('cancelled', 'released', 'expired');

-- name: CheckDecideSpan
-- Microseconds from the first Apply stored to the last decision.
SELECT campaignq_micros(min(created_at)), campaignq_micros(max(decided_at))
FROM applications
WHERE campaign_id = ANY ($1::bigint[]) AND decided_at IS NOT NULL;
