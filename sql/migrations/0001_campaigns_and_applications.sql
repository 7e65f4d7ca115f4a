-- The whole queue lives in two tables. Invariants are constraints, so that
-- no code path (ours, a psql session, a future bug) can break them.

CREATE TABLE campaigns (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- NULL: unlimited.
    max_participants integer     CHECK (max_participants IS NULL OR max_participants > 0),
    approved_count   integer     NOT NULL DEFAULT 0 CHECK (approved_count >= 0),
    waitlist         boolean     NOT NULL DEFAULT true,
    status           text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_at        timestamptz,
    -- Last time a worker decided a batch of this campaign: stall detection.
    last_decided_at  timestamptz,
    -- Defense in depth: the worker protocol keeps approved_count within the
    -- cap; this makes any path that would not fail instead.
    CONSTRAINT campaigns_approved_within_cap
        CHECK (max_participants IS NULL OR approved_count <= max_participants),
    CONSTRAINT campaigns_closed_has_time CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

CREATE TABLE applications (
    -- Identity values are handed out at INSERT time, so id order is arrival
    -- order: an Apply that returned before another was sent has the smaller
    -- id. Workers decide in id order; that is first come, first served.
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id bigint      NOT NULL REFERENCES campaigns (id),
    user_id     text        NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 128),
    status      text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'waitlisted', 'rejected', 'cancelled', 'failed')),
    reason      text        CHECK (reason IN ('campaign_full', 'campaign_closed')),
    last_error  text,
    attempts    integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    decided_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT applications_one_per_user UNIQUE (campaign_id, user_id),
    CONSTRAINT applications_reason_only_when_rejected
        CHECK ((status = 'rejected') = (reason IS NOT NULL)),
    CONSTRAINT applications_decided_has_time
        CHECK ((status = 'pending') = (decided_at IS NULL))
);

-- The claim walks campaigns with pending work and each one's oldest pending
-- application; the batch reads a campaign's pending rows in id order. Both
-- are index-only probes into this partial index, which stays as small as the
-- queue.
CREATE INDEX applications_pending_by_campaign
    ON applications (campaign_id, id) WHERE status = 'pending';

-- The oldest pending applications across all campaigns: the claim looks at
-- the campaigns owning the oldest few hundred first (CampaignClaimSkipLocked),
-- so its cost does not grow with the number of campaigns that have work.
CREATE INDEX applications_pending_by_id
    ON applications (id) WHERE status = 'pending';

-- Promotion from the waitlist takes the oldest waitlisted application.
CREATE INDEX applications_waitlisted_by_campaign
    ON applications (campaign_id, id) WHERE status = 'waitlisted';

-- Deliberately no index on status (or on campaign_id, id) for listing: a
-- decision changes status, which is never a HOT update, so every full index
-- on applications costs an index insert per decision. One (status, id)
-- index cost a third of the workers' throughput (W2: 55,000 vs 86,000
-- decisions/s). Listing a campaign reads its rows through the unique index
-- and sorts them; pending and waitlisted rows have the partial indexes.

-- Timestamps cross the wire as microseconds since the epoch.
CREATE FUNCTION campaignq_micros(timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM $1) * 1000000)::bigint $$;

-- Every campaign with pending work and the id of its oldest pending
-- application (its head). A loose index scan: one probe of
-- applications_pending_by_campaign per campaign, never a walk over a
-- campaign's pending rows, however long its backlog.
CREATE VIEW campaign_queue_heads AS
WITH RECURSIVE pending_campaign (campaign_id) AS (
    (SELECT campaign_id FROM applications WHERE status = 'pending'
     ORDER BY campaign_id LIMIT 1)
    UNION ALL
    SELECT (SELECT a.campaign_id FROM applications a
            WHERE a.status = 'pending' AND a.campaign_id > p.campaign_id
            ORDER BY a.campaign_id LIMIT 1)
    FROM pending_campaign p
    WHERE p.campaign_id IS NOT NULL
)
SELECT p.campaign_id,
       (SELECT a.id FROM applications a
        -- BETWEEN, not =, and campaign_id in the ORDER BY: see "Index
        -- choice" in sql/queries/queue.sql.
        WHERE a.status = 'pending' AND a.campaign_id BETWEEN p.campaign_id AND p.campaign_id
        ORDER BY a.campaign_id, a.id LIMIT 1) AS head_id
FROM pending_campaign p
WHERE p.campaign_id IS NOT NULL;
