-- A fair opening (issue 21, part 3; docs/queue-order.md explains it).
--
-- A campaign may accept Applies from prequeue_opens_at, before opens_at.
-- Those applicants are put in a uniformly random order that nobody can
-- predict before opens_at and anybody can recompute afterwards; whoever
-- applies from opens_at on follows them in arrival order. The order is one
-- column, applications.queue_key, and every statement that reads a
-- campaign's line reads it in (queue_key, id) order from the partial
-- indexes below, so the opening itself does no work: the pre-queued rows
-- already sit in their shuffled places in the index.
--
-- Upgrading: earlier workers decide in id order and before opens_at; stop
-- them (and earlier servers) before applying this migration, which also
-- rewrites applications (CHANGELOG.md, "Unreleased").

ALTER TABLE campaigns
    ADD COLUMN prequeue_opens_at timestamptz,
    -- Drawn by PostgreSQL's strong random source at creation. Secret until
    -- opens_at: knowing it before then would let a client compute its
    -- place, and try user ids until one came first. Published as
    -- Campaign.queue_seed from opens_at on.
    ADD COLUMN queue_seed uuid NOT NULL DEFAULT gen_random_uuid(),
    -- When the maintenance leader woke the workers for the opening of the
    -- pre-queue (NULL: not yet). Idle workers sleep on LISTEN; nothing else
    -- tells them that a pre-queue became claimable at opens_at.
    ADD COLUMN opening_announced_at timestamptz,
    ADD CONSTRAINT campaigns_prequeue_before_opening
        CHECK (prequeue_opens_at IS NULL OR (opens_at IS NOT NULL AND prequeue_opens_at < opens_at));

-- An application's place among the pre-queued ones: the first 62 bits of
-- sha256(seed || ':' || campaign id || ':' || user id) as an unsigned
-- number, minus 2^62, so in [-2^62, 0): below every identity value, which
-- is what puts the whole pre-queue ahead of every later arrival. The seed
-- is the uuid's canonical 36-character lowercase text, the campaign id in
-- decimal, the text UTF-8 (the server encoding). docs/queue-order.md
-- gives the same formula for auditors; tests/queue/fair_opening_db_test
-- recomputes it outside PostgreSQL.
CREATE FUNCTION campaignq_prequeue_key(seed uuid, campaign_id bigint, user_id text) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (('x' || substr(encode(sha256(convert_to(
                     $1::text || ':' || $2::text || ':' || $3, 'UTF8')), 'hex'), 1, 16))::bit(64)
                  >> 2)::bigint - 4611686018427387904 $$;

-- queue_key is the queue order: prequeue_key for an Apply in the pre-queue,
-- else the id (arrival order). Ties (two pre-queued users with the same 62
-- bits) are broken by id, so the order is (queue_key, id). A stored
-- generated column, because PostgreSQL 15 computes it after the identity
-- default (it may read id) and no code path can then write a key that
-- disagrees with the rule. Adding it rewrites applications under an
-- ACCESS EXCLUSIVE lock: reads and writes wait while the table and its
-- indexes are rebuilt (CHANGELOG.md, "Upgrading", gives the order).
ALTER TABLE applications
    ADD COLUMN prequeue_key bigint CHECK (prequeue_key < 0),
    ADD COLUMN queue_key bigint GENERATED ALWAYS AS (coalesce(prequeue_key, id)) STORED;

-- Same names, new keys: every reader of a campaign's line (the claim's
-- batch, the head, waitlist promotion, the loose index scan of
-- campaign_queue_heads) walks these in queue order.
DROP INDEX applications_pending_by_campaign;
CREATE INDEX applications_pending_by_campaign
    ON applications (campaign_id, queue_key, id) WHERE status = 'pending';
DROP INDEX applications_waitlisted_by_campaign;
CREATE INDEX applications_waitlisted_by_campaign
    ON applications (campaign_id, queue_key, id) WHERE status = 'waitlisted';

-- A campaign's head is now the first in its queue order (its id, as
-- before, is what the cross-campaign claim window compares: queue.sql,
-- QueueClaimCandidates). Same columns, so CREATE OR REPLACE keeps grants.
CREATE OR REPLACE VIEW campaign_queue_heads AS
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
        ORDER BY a.campaign_id, a.queue_key, a.id LIMIT 1) AS head_id
FROM pending_campaign p
WHERE p.campaign_id IS NOT NULL;

-- Not decided yet: before opens_at, whatever is pending waits (the
-- pre-queue). The one definition for every claim path, next to paused.
-- VOLATILE for clock_timestamp(), as campaignq_closed (migration 0006).
CREATE FUNCTION campaignq_not_open_yet(opens_at timestamptz) RETURNS boolean
    LANGUAGE sql VOLATILE
    AS $$ SELECT coalesce($1 > clock_timestamp(), false) $$;

-- The leader's "what opens now" probe: pre-queues not announced yet,
-- earliest first (as campaigns_scheduled_close for closes).
CREATE INDEX campaigns_prequeue_opening ON campaigns (opens_at)
    WHERE prequeue_opens_at IS NOT NULL AND opening_announced_at IS NULL;

-- Campaign.queue_seed: the seed from opens_at on (at once without an
-- opens_at), NULL before. Without a pre-queue it orders nothing; published
-- all the same, so the rule has no second case. Every campaign statement
-- returns the seed through this, so that none can forget the rule.
CREATE FUNCTION campaignq_published_seed(seed uuid, opens_at timestamptz) RETURNS text
    LANGUAGE sql VOLATILE
    AS $$ SELECT CASE WHEN NOT campaignq_not_open_yet($2) THEN $1::text END $$;
