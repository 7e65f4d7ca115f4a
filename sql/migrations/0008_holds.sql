-- Timed holds (issue 21, part 1; docs/holds.md): a campaign with a
-- hold_duration offers a seat as a hold the applicant confirms before it
-- expires, instead of approving it finally. A hold takes its seat: the cap
-- counts held and approved alike, under the campaign lock (held_count, kept
-- beside approved_count by every statement that offers, confirms, releases
-- or expires a hold) and by a CHECK, as approved_count alone was before.
--
-- Upgrading: stop-first (common/db/migrator_rollout.cc). Workers of earlier
-- versions know nothing of hold_duration: they would approve finally the
-- seats of a campaign that must hold them, and count nothing in held_count.
ALTER TABLE campaigns
    -- NULL: approvals are final (every campaign before this migration).
    -- A hold protects a seat, so only a capped campaign has one.
    ADD COLUMN hold_duration_ms bigint CHECK (hold_duration_ms > 0),
    ADD COLUMN held_count       integer NOT NULL DEFAULT 0 CHECK (held_count >= 0),
    -- NULL: as many holds at once as there are seats. Otherwise the rest
    -- wait in line and are offered as holds end (a waiting room's "active
    -- users").
    ADD COLUMN max_active_holds integer CHECK (max_active_holds > 0),
    -- GetQueueStats' counters of holds that ended without a seat (migration
    -- 0004's reasoning: stats read counters, never the decided history).
    ADD COLUMN released_count   bigint NOT NULL DEFAULT 0 CHECK (released_count >= 0),
    ADD COLUMN expired_count    bigint NOT NULL DEFAULT 0 CHECK (expired_count >= 0),
    ADD CONSTRAINT campaigns_hold_needs_cap
        CHECK (hold_duration_ms IS NULL OR max_participants IS NOT NULL),
    ADD CONSTRAINT campaigns_active_holds_need_hold
        CHECK (max_active_holds IS NULL OR hold_duration_ms IS NOT NULL),
    ADD CONSTRAINT campaigns_holds_within_cap
        CHECK (max_active_holds IS NULL OR held_count <= max_active_holds),
    DROP CONSTRAINT campaigns_approved_within_cap,
    ADD CONSTRAINT campaigns_offered_within_cap
        CHECK (max_participants IS NULL OR approved_count + held_count <= max_participants);

-- held: offered, seat taken, until hold_expires_at. released (declined)
-- and expired end a hold without a seat; both are final. The constraints
-- are NOT VALID because no row written before this migration can break
-- them (the old status CHECK was narrower and hold_expires_at is new), so
-- checking them over the whole history under this migration's ACCESS
-- EXCLUSIVE lock would only stop Applies for nothing; PostgreSQL enforces
-- them on every row written from now on all the same.
ALTER TABLE applications
    ADD COLUMN hold_expires_at timestamptz,
    DROP CONSTRAINT applications_status_check,
    ADD CONSTRAINT applications_status_check
        CHECK (status IN ('pending', 'approved', 'waitlisted', 'rejected', 'cancelled', 'failed',
                          'held', 'released', 'expired')) NOT VALID,
    ADD CONSTRAINT applications_held_expires
        CHECK ((status = 'held') = (hold_expires_at IS NOT NULL)) NOT VALID;

-- The expiry queue, the product's second job queue: workers probe it for
-- due holds (earliest first) and the claim policy for the next expiry. A
-- row enters it when offered and leaves it when its hold ends, so it stays
-- as small as the holds outstanding and never holds decided history.
CREATE INDEX applications_held_by_expiry
    ON applications (hold_expires_at, id) WHERE status = 'held';
