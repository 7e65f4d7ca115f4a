-- Operations on campaigns: a schedule (opens_at, closes_at), pause, and
-- idempotent creation (AIP-155 request ids).

ALTER TABLE campaigns
    -- Applies before opens_at are refused; at closes_at the maintenance
    -- leader (one process at a time) closes the campaign as CloseCampaign.
    ADD COLUMN opens_at       timestamptz,
    ADD COLUMN closes_at      timestamptz,
    -- Workers claim nothing of a paused campaign; they re-check it under
    -- the campaign lock, so a pause that commits is never overtaken.
    ADD COLUMN paused         boolean NOT NULL DEFAULT false,
    -- The caller's id for the CreateCampaign call and a digest of what it
    -- asked for: a retry with the same id and digest gets the same row.
    ADD COLUMN request_id     text CHECK (char_length(request_id) BETWEEN 1 AND 100),
    ADD COLUMN request_digest text,
    -- Retention: when the decided applications of this closed campaign were
    -- deleted (the campaign row, with its counts, stays).
    ADD COLUMN purged_at      timestamptz,
    ADD CONSTRAINT campaigns_opens_before_closes CHECK (opens_at < closes_at),
    ADD CONSTRAINT campaigns_request_id_unique UNIQUE (request_id),
    ADD CONSTRAINT campaigns_request_has_digest
        CHECK ((request_id IS NULL) = (request_digest IS NULL)),
    ADD CONSTRAINT campaigns_purged_only_when_closed CHECK (purged_at IS NULL OR status = 'closed');

-- The leader's "what closes now" probe: open campaigns with a schedule,
-- earliest first. Small (only scheduled, open campaigns) and never touched
-- by the claim (these columns do not change per decision, so updates of
-- approved_count stay HOT).
CREATE INDEX campaigns_scheduled_close ON campaigns (closes_at)
    WHERE status = 'open' AND closes_at IS NOT NULL;

-- The retention walk: closed campaigns whose applications are still kept.
CREATE INDEX campaigns_closed_unpurged ON campaigns (closed_at)
    WHERE status = 'closed' AND purged_at IS NULL;

-- Microseconds since the epoch (how timestamps cross the wire) back to a
-- timestamp; NULL stays NULL.
CREATE FUNCTION campaignq_timestamp(bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT timestamptz 'epoch' + $1 * interval '1 microsecond' $$;
