-- Stats that stay cheap: GetQueueStats and filtered ListApplications must
-- not read the decided history, however long it grows.
--
-- Decided and failed applications are counted on their campaign's row,
-- beside approved_count, by the statements that decide them: the worker's
-- batch UPDATE of the campaign row (which it makes anyway, under the
-- campaign lock, for approved_count), the worker's failure bookkeeping,
-- CloseCampaign, CancelApplication and the retries (all under the campaign
-- lock too). No new lock, no new row, no new index for the claim. Pending
-- and waitlisted are not counted here: they are work waiting (for a worker,
-- a freed seat) and each has a partial index as small as that work.
--
-- Like approved_count, the counters keep what a campaign decided after
-- retention deleted its rows (purged_at); DeleteCampaign removes them with
-- the campaign. sql/checks/invariants.sql (CheckDecisionCounters) proves
-- after every storm that they equal the rows.
--
-- Upgrading: workers of earlier versions do not maintain these counters;
-- stop them before applying this migration (deploy/ runs migrations first).
ALTER TABLE campaigns
    ADD COLUMN rejected_count  bigint NOT NULL DEFAULT 0 CHECK (rejected_count >= 0),
    ADD COLUMN cancelled_count bigint NOT NULL DEFAULT 0 CHECK (cancelled_count >= 0),
    ADD COLUMN failed_count    bigint NOT NULL DEFAULT 0 CHECK (failed_count >= 0);

UPDATE campaigns c
SET rejected_count = d.rejected, cancelled_count = d.cancelled, failed_count = d.failed
FROM (SELECT campaign_id,
             count(*) FILTER (WHERE status = 'rejected') AS rejected,
             count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
             count(*) FILTER (WHERE status = 'failed') AS failed
      FROM applications GROUP BY campaign_id) d
WHERE c.id = d.campaign_id;

-- The dead-letter queue and the cancellations, listed a page
-- at a time, per campaign (campaign_id, id) or across all (id), however
-- many there are. A row enters these indexes only when it fails or is
-- cancelled, so deciding (pending -> approved, waitlisted, rejected) never
-- pays for them: PostgreSQL only tests their predicate.
CREATE INDEX applications_failed_by_campaign
    ON applications (campaign_id, id) WHERE status = 'failed';
CREATE INDEX applications_failed_by_id
    ON applications (id) WHERE status = 'failed';
CREATE INDEX applications_cancelled_by_campaign
    ON applications (campaign_id, id) WHERE status = 'cancelled';
CREATE INDEX applications_cancelled_by_id
    ON applications (id) WHERE status = 'cancelled';

-- GetQueueStats pages through open campaigns; closed ones (most of them,
-- after a while) are never read. The claim's updates of a campaign row do
-- not change its status, so they stay HOT.
CREATE INDEX campaigns_open_by_id ON campaigns (id) WHERE status = 'open';
