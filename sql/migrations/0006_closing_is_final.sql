-- Closing a campaign ends its queue, whatever else is set.
--
-- 1. A closed campaign is never paused. Every claim path skips paused
--    campaigns and ResumeCampaign refuses closed ones, so a pending row that
--    an Apply committed just after the close of a paused campaign (the Apply
--    had read it open) stayed pending forever. CampaignMarkClosed now clears
--    paused; this migration clears it on campaigns closed before, and the
--    CHECK keeps it so. A server older than this migration that closes a
--    paused campaign gets the CHECK's error instead of the stuck row.
--
-- 2. campaignq_closed(status, closes_at) is the one definition of "closed"
--    for deciding, promoting, retrying and pausing: marked closed, or its
--    closes_at has passed. The maintenance leader marks a campaign closed
--    within a second of closes_at while a server runs, but not at all while
--    none does; until then workers must not approve and cancels must not
--    promote. Not STRICT and one expression, so PostgreSQL inlines it;
--    VOLATILE because clock_timestamp() is (the same clock the Apply's
--    "closed from closes_at on" reads).
UPDATE campaigns SET paused = false WHERE status = 'closed' AND paused;

ALTER TABLE campaigns
    ADD CONSTRAINT campaigns_closed_not_paused CHECK (status = 'open' OR NOT paused);

CREATE FUNCTION campaignq_closed(status text, closes_at timestamptz) RETURNS boolean
    LANGUAGE sql VOLATILE
    AS $$ SELECT $1 = 'closed' OR coalesce($2 <= clock_timestamp(), false) $$;
