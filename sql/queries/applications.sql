-- Application statements. Columns come back in the order
-- application_row.cc reads them: id, campaign_id, user_id, status, reason,
-- last_error, attempts, created_at, decided_at, updated_at (microseconds).

-- name: ApplicationInsert
-- $1 campaign id, $2 user id. One statement, so the campaign check and the
-- insert see one snapshot. Returns one row: the campaign's status (NULL: no
-- such campaign), then the new application's columns, all NULL when nothing
-- was inserted (campaign closed, or the user already applied). A Close that
-- commits after this snapshot cannot stop the insert; workers reject such a
-- late application under the campaign lock. The NOTIFY wakes idle workers at
-- commit.
WITH target AS (
    SELECT id, status FROM campaigns WHERE id = $1
), inserted AS (
    INSERT INTO applications (campaign_id, user_id)
    SELECT id, $2 FROM target WHERE status = 'open'
    ON CONFLICT (campaign_id, user_id) DO NOTHING
    RETURNING id, campaign_id, user_id, status, reason, last_error, attempts,
              campaignq_micros(created_at), campaignq_micros(decided_at),
              campaignq_micros(updated_at),
              pg_notify('campaignq_pending', campaign_id::text)
)
SELECT target.status, inserted.*
FROM target LEFT JOIN inserted ON true;

-- name: ApplicationGet
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at)
FROM applications WHERE id = $1;

-- name: ApplicationGetByUser
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at)
FROM applications WHERE campaign_id = $1 AND user_id = $2;

-- name: ApplicationListAfter
-- $1 campaign id (0: all), $2 status ('': all), $3 last id of the previous
-- page (0 at the start), $4 limit.
SELECT id, campaign_id, user_id, status, reason, last_error, attempts,
       campaignq_micros(created_at), campaignq_micros(decided_at),
       campaignq_micros(updated_at)
FROM applications
WHERE ($1 = 0 OR campaign_id = $1) AND ($2 = '' OR status = $2) AND id > $3
ORDER BY id LIMIT $4;

-- name: ApplicationLock
-- Taken only while holding the application's campaign lock.
SELECT status FROM applications WHERE id = $1 FOR UPDATE;

-- name: ApplicationCancel
-- $2: the status the caller saw under the lock; zero rows means it changed.
UPDATE applications
SET status = 'cancelled', reason = NULL,
    decided_at = coalesce(decided_at, clock_timestamp()),
    updated_at = clock_timestamp()
WHERE id = $1 AND status = $2
RETURNING id, campaign_id, user_id, status, reason, last_error, attempts,
          campaignq_micros(created_at), campaignq_micros(decided_at),
          campaignq_micros(updated_at);

-- name: ApplicationPromoteOldestWaitlisted
-- Hands a freed seat to the campaign's oldest waitlisted application.
-- Returns its id, or no row when the waitlist is empty.
UPDATE applications
SET status = 'approved', updated_at = clock_timestamp()
WHERE id = (SELECT id FROM applications
            WHERE campaign_id = $1 AND status = 'waitlisted'
            ORDER BY id LIMIT 1 FOR UPDATE)
  AND status = 'waitlisted'
RETURNING id;

-- name: ApplicationRejectOpenOfClosedCampaign
-- Run after CampaignMarkClosed, in its own statement so that its snapshot
-- sees every decision committed before the campaign lock was granted.
UPDATE applications
SET status = 'rejected', reason = 'campaign_closed',
    decided_at = coalesce(decided_at, clock_timestamp()),
    updated_at = clock_timestamp()
WHERE campaign_id = $1 AND status IN ('pending', 'waitlisted')
RETURNING id;
