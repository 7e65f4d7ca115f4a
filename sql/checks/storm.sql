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

-- name: CheckPendingCount
-- Applications of the storm's campaigns not decided yet.
SELECT count(*) FROM applications
WHERE campaign_id = ANY ($1::bigint[]) AND status = 'pending';

-- name: CheckCampaignTallies
-- One row per campaign: cap (NULL: none), waitlist, closed, the counter,
-- then the stored applications by outcome.
SELECT c.id, c.max_participants, c.waitlist, c.status = 'closed', c.approved_count,
       count(a.id),
       count(a.id) FILTER (WHERE a.status = 'approved'),
       count(a.id) FILTER (WHERE a.status = 'waitlisted'),
       count(a.id) FILTER (WHERE a.status = 'rejected' AND a.reason = 'campaign_full'),
       count(a.id) FILTER (WHERE a.status = 'rejected' AND a.reason IS DISTINCT FROM 'campaign_full'),
       count(a.id) FILTER (WHERE a.status = 'pending'),
       count(a.id) FILTER (WHERE a.status = 'cancelled'),
       count(a.id) FILTER (WHERE a.status = 'failed')
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
