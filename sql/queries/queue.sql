-- The worker's claim protocol, statement by statement (common/queue/claim.h
-- is its contract). A batch is one READ COMMITTED transaction:
--   0. Woken by NOTIFYs naming campaigns (the worker's fast path, when it
--      has no backlog): QueueSetCounterLockTimeout, then
--      ApplicationDecideUncapped with each campaign alone, in id order,
--      COMMIT; QueueNotifiedNeedsLock says whether any of those it decided
--      nothing of must be claimed by step 1.
--   1. QueueClaimCandidates: the fairest campaigns with pending work (oldest
--      head first). If the fairest is uncapped and open:
--      QueueSetCounterLockTimeout, ApplicationDecideUncapped (no campaign
--      lock; rows FOR UPDATE SKIP LOCKED), COMMIT. Otherwise lock up to N of
--      the capped candidates in id order, skipping held ones:
--      CampaignClaimSkipLocked (when none, CampaignClaimSkipLockedAnywhere,
--      one campaign); or CampaignNextWithPending then CampaignLockNowait
--      (nowait mode) or CampaignLock (blocking mode, kept to compare).
--   2. ApplicationDecideBatch: in a new statement, so with a fresh snapshot
--      that sees every decision committed before our locks were granted,
--      lock the campaigns' oldest pending applications in id order and
--      decide them.
--   3. COMMIT, then QueueNotifyDecidedAfterCommit in its own transaction.
-- The expiry of due holds is a batch of its own: QueueClaimDueHolds,
-- ApplicationExpireDueHolds, ApplicationFillFreeSeats per campaign,
-- QueueNextHoldExpiry, COMMIT.
-- The row locks are the lease: if the worker dies, PostgreSQL rolls back and
-- the next worker claims the campaign.
--
-- Queue order. A campaign's line is (queue_key, id) (migration 0009: the
-- shuffled pre-queue, then arrivals in id order); every statement here
-- that reads a line reads it in that order, from the partial indexes on
-- (campaign_id, queue_key, id). Before opens_at nothing is decided
-- (campaignq_not_open_yet, beside paused in every claim path).
--
-- Index choice. Reading a campaign's oldest pending rows must use the
-- partial index applications_pending_by_campaign (campaign_id, queue_key,
-- id), never the primary key: a primary-key walk in id order skips every row already
-- decided, so each batch costs more than the last. With "campaign_id = $1"
-- the planner drops campaign_id from the ordering and, when its statistics
-- still say most rows are pending (right after a burst of Applies), picks
-- the primary key. "campaign_id BETWEEN $1 AND $1" with ORDER BY
-- campaign_id, queue_key, id is the same rows, but only the partial index returns
-- them in that order. Measured on 200,000 pending rows of one campaign:
-- 8,300 decisions/s with "=", 2x and more with BETWEEN (bench/RESULTS.md).

-- name: QueueClaimCandidates
-- $1 the application id to start at (the low-water mark:
-- common/queue/claim_window.h), $2 how many pending applications to read
-- (1,024). Not locked: the campaigns owning the $2 oldest pending
-- applications from $1 on, each with its oldest and newest id among them,
-- how many, whether it is paused, and whether it is uncapped and open (the
-- worker decides those without the campaign lock: ApplicationDecideUncapped).
-- The worker picks the candidates (queue::PickCandidates): the fairest
-- (oldest head) first, paused and backing-off campaigns left out. Looking
-- only at that window makes the claim cost the same with 20 campaigns or
-- 10,000: any campaign outside it has a younger head than all of them.
-- Starting at the mark, not at the index head, keeps the cost off the dead
-- entries that decisions leave at the head while the xmin horizon is pinned.
-- When no window yields anything this worker may lock,
-- CampaignClaimSkipLockedAnywhere looks at all.
SELECT w.campaign_id, w.head_id, w.last_id, w.pending,
       c.paused OR campaignq_not_open_yet(c.opens_at) AS paused,
       c.max_participants IS NULL AND NOT campaignq_closed(c.status, c.closes_at) AS uncapped
FROM (SELECT campaign_id, min(id) AS head_id, max(id) AS last_id, count(*) AS pending
      FROM (SELECT campaign_id, id FROM applications
            WHERE status = 'pending' AND id >= $1
            ORDER BY id LIMIT $2) oldest
      GROUP BY campaign_id) w
JOIN campaigns c ON c.id = w.campaign_id;

-- name: QueueClaimLowWaterMark
-- The oldest pending application of any campaign that is not paused (NULL
-- when there is none): where the candidate scan starts after a rebase
-- (common/queue/claim_window.h). One index probe per campaign with pending
-- rows (campaign_queue_heads). A campaign not open yet counts as paused.
SELECT min(h.head_id)
FROM campaign_queue_heads h JOIN campaigns c ON c.id = h.campaign_id
WHERE NOT c.paused AND NOT campaignq_not_open_yet(c.opens_at);

-- name: CampaignClaimSkipLocked
-- $1 candidate campaign ids (bigint[] text form, from QueueClaimCandidates),
-- $2 how many to lock at most. Locks them in campaign id order, the one
-- global order for several campaigns in one transaction, skipping those
-- other workers hold (never waits, so never deadlocks). Several workers
-- with the same candidates each get different ones.
SELECT id FROM campaigns
WHERE id = ANY ($1::bigint[])
ORDER BY id
LIMIT $2
FOR NO KEY UPDATE SKIP LOCKED;

-- name: CampaignClaimSkipLockedAnywhere
-- The same claim over every capped (or closed) campaign with pending work
-- (one index probe per campaign, campaign_queue_heads). Never an open
-- uncapped one: workers decide those without the campaign lock
-- (ApplicationDecideUncapped), and one holding the lock while waiting for
-- their rows would close a cycle with their wait for the counter that only
-- their lock_timeout ends (measured: W3 p99 from 41 to 177 ms).
SELECT c.id
FROM campaign_queue_heads h JOIN campaigns c ON c.id = h.campaign_id
WHERE c.id <> ALL ($1::bigint[]) AND NOT c.paused AND NOT campaignq_not_open_yet(c.opens_at)
  AND NOT (c.max_participants IS NULL AND NOT campaignq_closed(c.status, c.closes_at))
ORDER BY h.head_id
LIMIT 1
FOR NO KEY UPDATE OF c SKIP LOCKED;

-- name: CampaignNextWithPending
-- For the nowait and blocking modes: the fairest candidate, not locked yet;
-- the worker then locks it by id (CampaignLockNowait or CampaignLock), so it
-- knows which campaign to back off from when the lock is refused.
SELECT h.campaign_id FROM campaign_queue_heads h JOIN campaigns c ON c.id = h.campaign_id
WHERE h.campaign_id <> ALL ($1::bigint[]) AND NOT c.paused
  AND NOT campaignq_not_open_yet(c.opens_at)
ORDER BY h.head_id
LIMIT 1;

-- name: CampaignLockNowait
-- Fails at once with SQLSTATE 55P03 (lock_not_available) when another
-- worker holds the campaign.
SELECT id FROM campaigns WHERE id = $1 FOR NO KEY UPDATE NOWAIT;

-- name: ApplicationDecideBatch
-- $1 the campaigns this transaction holds (bigint[] text form, in id
-- order), $2 batch size, $3 one application to decide alone (0: any; an
-- isolated retry after a deterministic error, so that the error is known to
-- be about that application). Decides up to $2 pending applications in
-- total, campaign by campaign in id order and each campaign's first in
-- queue order first (so every campaign gets a prefix of its queue: FCFS): approved while
-- seats remain, then waitlisted (or rejected as campaign_full without a
-- waitlist); everything rejected as campaign_closed once closed. With a
-- hold duration (migration 0008, docs/holds.md) a seat goes out held, never
-- approved, at most max_active_holds at once; those beyond wait
-- (waitlisted, with a waitlist or without) while a seat may come back, that
-- is while any seat is not approved yet. Each
-- UPDATE is guarded by status = 'pending', and each campaign's
-- approved_count and rejected_count grow by its rows actually approved and
-- rejected (migration 0004: stats read counters, not history). Returns one row per
-- decided application: id, status, how long it waited from Apply to this
-- decision (microseconds), campaign id. A paused campaign among $1 (paused
-- after it was picked, seen now that its lock is held) gets no decisions,
-- nor does one whose opens_at has not come.
-- A campaign whose closes_at has passed is closed here already
-- (campaignq_closed), before the maintenance close marks it.
-- The line: seats go in queue order over pending and waitlisted rows alike.
-- A retried application keeps its place and can be ahead of the waitlist, and
-- a cancel leaves a seat ahead of it free (ApplicationFillFreeSeats); so
-- while a seat is free, waitlisted rows older than every pending row this
-- batch leaves undecided compete with the picked ones in line (at most one
-- per free seat; none when the campaign is full, the common case).
WITH campaign AS (
    -- seats: how many this batch may offer (NULL: uncapped). offer: what an
    -- offered seat becomes. A seat may come back (so those beyond it wait
    -- even without a waitlist) while any is held or not yet offered.
    SELECT id, max_participants, approved_count, waitlist, paused,
           CASE WHEN campaignq_closed(status, closes_at) THEN 'closed' ELSE status END AS status,
           CASE WHEN hold_duration_ms IS NULL THEN max_participants - approved_count
                ELSE least(max_participants - approved_count - held_count,
                           coalesce(max_active_holds - held_count, max_participants)) END AS seats,
           CASE WHEN hold_duration_ms IS NULL THEN 'approved' ELSE 'held' END AS offer,
           hold_duration_ms IS NOT NULL AND approved_count < max_participants AS seat_may_return,
           hold_duration_ms
    FROM campaigns WHERE id = ANY ($1::bigint[])
), picked AS (
    SELECT p.id, p.campaign_id, p.queue_key
    FROM unnest($1::bigint[]) WITH ORDINALITY AS held(campaign_id, n)
    CROSS JOIN LATERAL (
        SELECT id, campaign_id, queue_key FROM applications
        WHERE campaign_id BETWEEN held.campaign_id AND held.campaign_id  -- see "Index choice"
          AND status = 'pending' AND ($3::bigint = 0 OR id = $3)
          AND NOT EXISTS (SELECT 1 FROM campaigns pc WHERE pc.id = held.campaign_id
                            AND (pc.paused OR campaignq_not_open_yet(pc.opens_at)))
        ORDER BY campaign_id, queue_key, id
        LIMIT $2
        FOR UPDATE) p
    LIMIT $2
), waiting AS (
    -- Only the campaign lock guards these rows (every writer of a capped
    -- campaign's rows holds it): the UPDATE below locks the ones promoted.
    SELECT w.id, w.campaign_id, w.queue_key
    FROM campaign c
    CROSS JOIN LATERAL (
        SELECT id, campaign_id, queue_key FROM applications
        WHERE campaign_id BETWEEN c.id AND c.id AND status = 'waitlisted'  -- see "Index choice"
          -- Ahead of the first pending row behind the batch (none: NULL).
          AND ((queue_key, id) <
               (SELECT u.queue_key, u.id FROM applications u
                WHERE u.campaign_id BETWEEN c.id AND c.id AND u.status = 'pending'
                  AND (u.queue_key, u.id) > (SELECT p.queue_key, p.id FROM picked p
                                             WHERE p.campaign_id = c.id
                                             ORDER BY p.queue_key DESC, p.id DESC LIMIT 1)
                ORDER BY u.campaign_id, u.queue_key, u.id LIMIT 1)) IS NOT FALSE
        ORDER BY campaign_id, queue_key, id
        LIMIT greatest(c.seats, 0)) w
    WHERE c.status = 'open' AND NOT c.paused AND c.seats > 0
      AND EXISTS (SELECT 1 FROM picked p WHERE p.campaign_id = c.id)
), ranked AS (
    SELECT id, campaign_id, was,
           row_number() OVER (PARTITION BY campaign_id ORDER BY queue_key, id) AS position
    FROM (SELECT id, campaign_id, queue_key, 'pending' AS was FROM picked
          UNION ALL
          SELECT id, campaign_id, queue_key, 'waitlisted' FROM waiting) line
), verdicts AS (
    SELECT r.id, r.campaign_id, r.was,
           CASE WHEN c.status = 'closed' THEN 'rejected'
                WHEN c.max_participants IS NULL THEN 'approved'
                WHEN r.position <= c.seats THEN c.offer
                WHEN c.waitlist OR c.seat_may_return THEN 'waitlisted'
                ELSE 'rejected' END AS status,
           CASE WHEN c.status = 'closed' THEN 'campaign_closed'
                WHEN c.max_participants IS NULL OR r.position <= c.seats
                  OR c.waitlist OR c.seat_may_return THEN NULL
                ELSE 'campaign_full' END AS reason,
           c.hold_duration_ms, clock_timestamp() AS decided_at
    FROM ranked r JOIN campaign c ON c.id = r.campaign_id
), decided AS (
    -- A waitlisted row is only ever promoted here (it keeps the decided_at
    -- of its waitlisting, as a promotion by a cancel does). A hold runs
    -- from this decision: one clock reading for both.
    UPDATE applications a
    SET status = v.status, reason = v.reason,
        decided_at = CASE WHEN v.was = 'pending' THEN v.decided_at ELSE a.decided_at END,
        hold_expires_at = CASE WHEN v.status = 'held'
                               THEN v.decided_at + v.hold_duration_ms * interval '1 ms' END,
        updated_at = clock_timestamp()
    FROM verdicts v
    WHERE a.id = v.id AND a.status = v.was
      AND (v.was = 'pending' OR v.status IN ('approved', 'held'))
    RETURNING a.id, a.status, a.campaign_id,
              campaignq_micros(a.decided_at) - campaignq_micros(a.created_at) AS waited_micros
), counted AS (
    UPDATE campaigns c
    SET approved_count = c.approved_count + d.approved,
        held_count = c.held_count + d.held,
        rejected_count = c.rejected_count + d.rejected,
        last_decided_at = clock_timestamp()
    FROM (SELECT campaign_id,
                 count(*) FILTER (WHERE status = 'approved') AS approved,
                 count(*) FILTER (WHERE status = 'held') AS held,
                 count(*) FILTER (WHERE status = 'rejected') AS rejected
          FROM decided GROUP BY campaign_id) d
    WHERE c.id = d.campaign_id
)
SELECT d.id, d.status, d.waited_micros, d.campaign_id FROM decided d
ORDER BY d.campaign_id, d.id;

-- name: ApplicationDecideUncapped
-- $1 uncapped campaigns, NOT locked, fairest first (bigint[] text form), $2
-- batch size. An uncapped campaign has no cap to protect and no order to
-- keep between its applicants (all are approved), so workers decide its
-- rows in parallel, the classic queue: the first of $1 with a pending row
-- no other worker holds is chosen (campaigns are tried in array order and
-- the scan stops at the first hit), and up to $2 of its oldest pending
-- applications are locked FOR UPDATE SKIP LOCKED (rows other workers hold
-- are skipped, never waited for) and approved (rejected campaign_closed if
-- the campaign is closed in this statement's snapshot); then, only if any
-- were decided, they are added to approved_count: the campaign row's lock
-- is taken last and held to COMMIT, so concurrent workers queue only for
-- their commits. Waiting for that lock while holding application rows is
-- the one wait against the lock order (CloseCampaign and CancelApplication
-- take the campaign, then rows): the caller sets a short lock_timeout first
-- (QueueSetCounterLockTimeout), so that such a cycle ends by this batch
-- rolling back, well before PostgreSQL's deadlock detector
-- (deadlock_timeout, 1 s) could pick the canceller. Returns the decided rows
-- (id, status, waited microseconds, campaign id) and, in each, whether the
-- campaign was still open and uncapped once its row lock was granted: a
-- batch that approved rows of a campaign closed meanwhile must roll back,
-- and its retry rejects them under the lock; so must one that approved rows
-- of a campaign paused meanwhile (its retry leaves them pending). A campaign
-- of $1 that is capped, closed or paused is passed over before any of its
-- rows is locked (the worker's fast path passes a notified campaign without
-- knowing which it is; only the claim under the campaign lock decides those).
WITH chosen AS (
    SELECT held.campaign_id
    FROM unnest($1::bigint[]) WITH ORDINALITY AS held(campaign_id, n)
    CROSS JOIN LATERAL (
        SELECT id FROM applications
        WHERE campaign_id BETWEEN held.campaign_id AND held.campaign_id  -- see "Index choice"
          AND status = 'pending'
          AND EXISTS (SELECT 1 FROM campaigns hc WHERE hc.id = held.campaign_id
                        AND hc.max_participants IS NULL AND NOT hc.paused
                        AND NOT campaignq_not_open_yet(hc.opens_at)
                        AND NOT campaignq_closed(hc.status, hc.closes_at))
        ORDER BY campaign_id, queue_key, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED) free
    LIMIT 1
), campaign AS (
    SELECT c.id, c.status FROM campaigns c JOIN chosen ON c.id = chosen.campaign_id
    WHERE c.max_participants IS NULL AND NOT c.paused AND NOT campaignq_not_open_yet(c.opens_at)
), picked AS (
    SELECT a.id FROM applications a, campaign c
    WHERE a.campaign_id BETWEEN c.id AND c.id AND a.status = 'pending'  -- see "Index choice"
    ORDER BY a.campaign_id, a.queue_key, a.id
    LIMIT $2
    FOR UPDATE OF a SKIP LOCKED
), decided AS (
    UPDATE applications a
    SET status = CASE WHEN c.status = 'closed' THEN 'rejected' ELSE 'approved' END,
        reason = CASE WHEN c.status = 'closed' THEN 'campaign_closed' END,
        decided_at = clock_timestamp(), updated_at = clock_timestamp()
    FROM picked p, campaign c
    WHERE a.id = p.id AND a.status = 'pending'
    RETURNING a.id, a.status, a.campaign_id,
              campaignq_micros(a.decided_at) - campaignq_micros(a.created_at) AS waited_micros
), counted AS (
    UPDATE campaigns c
    SET approved_count = c.approved_count
            + (SELECT count(*) FROM decided WHERE status = 'approved'),
        rejected_count = c.rejected_count
            + (SELECT count(*) FROM decided WHERE status = 'rejected'),
        last_decided_at = clock_timestamp()
    WHERE c.id = (SELECT id FROM campaign) AND EXISTS (SELECT 1 FROM decided)
    RETURNING NOT campaignq_closed(c.status, c.closes_at) AS open,
              c.max_participants IS NULL AS uncapped, c.paused
)
SELECT d.id, d.status, d.waited_micros, d.campaign_id,
       coalesce(k.open AND k.uncapped AND NOT k.paused, false) AS still_open
FROM decided d LEFT JOIN counted k ON true
ORDER BY d.id;

-- name: QueueNotifiedNeedsLock
-- $1 a campaign a NOTIFY campaignq_pending named that
-- ApplicationDecideUncapped decided nothing of: a row when it is capped or
-- closed (and not paused), which only the usual claim, under the campaign
-- lock, decides. No row: nothing for this worker (open and uncapped, its
-- pending rows, if any, held by the workers deciding them; paused; gone).
-- One id, not an array: with "id = ANY ($1)" PostgreSQL planned it anew at
-- every call (0.1 ms, ten times its execution; pg_stat_statements with
-- track_planning), with one id it keeps the generic plan.
SELECT id FROM campaigns
WHERE id = $1 AND (max_participants IS NOT NULL OR campaignq_closed(status, closes_at))
  AND NOT paused AND NOT campaignq_not_open_yet(opens_at);

-- name: QueueClaimDueHolds
-- The expiry queue, the second job queue (migration 0008, docs/holds.md):
-- $1 how many due holds to look at. Probes applications_held_by_expiry for
-- the $1 earliest holds due by this statement's start (statement_timestamp:
-- a stable clock, so an index condition; clock_timestamp is volatile and
-- would be a filter over every hold), never the decided history, and locks
-- their campaigns in id order FOR NO KEY UPDATE SKIP LOCKED, the claim's
-- campaign lock and order: those another worker holds (a batch deciding,
-- an expiry, a confirm) are left to it or to the next probe. The lock is
-- what makes an expiry and a confirm of the same hold exclusive.
SELECT c.id FROM campaigns c
WHERE c.id IN (SELECT campaign_id FROM applications
               WHERE status = 'held' AND hold_expires_at <= statement_timestamp()
               ORDER BY hold_expires_at, id
               LIMIT $1)
ORDER BY c.id
FOR NO KEY UPDATE OF c SKIP LOCKED;

-- name: ApplicationExpireDueHolds
-- $1 the campaigns this transaction holds (QueueClaimDueHolds, bigint[]
-- text form), $2 how many at most. In a new statement (a fresh snapshot
-- that sees every confirm and release committed before the campaign locks
-- were granted), their due holds, earliest first, become expired (final;
-- expired_count counts them, migration 0008), their rows locked in id
-- order under the campaign locks. The caller then gives each campaign's
-- seats back (ApplicationFillFreeSeats with $3 minus the campaign's
-- expiries), which also takes them out of held_count. Returns id, campaign
-- id, and how late the expiry is (microseconds after hold_expires_at).
WITH due AS (
    SELECT id, hold_expires_at FROM applications
    WHERE id IN (SELECT id FROM applications
                 WHERE status = 'held' AND hold_expires_at <= statement_timestamp()
                   AND campaign_id = ANY ($1::bigint[])
                 ORDER BY hold_expires_at, id
                 LIMIT $2)
    ORDER BY id
    FOR UPDATE
), expired AS (
    UPDATE applications a
    SET status = 'expired', hold_expires_at = NULL, updated_at = clock_timestamp()
    FROM due
    WHERE a.id = due.id AND a.status = 'held'
    RETURNING a.id, a.campaign_id, due.hold_expires_at AS expires_at
), counted AS (
    UPDATE campaigns c SET expired_count = c.expired_count + e.expired
    FROM (SELECT campaign_id, count(*) AS expired FROM expired GROUP BY campaign_id) e
    WHERE c.id = e.campaign_id
)
SELECT id, campaign_id,
       campaignq_micros(clock_timestamp()) - campaignq_micros(expires_at) AS late_micros
FROM expired
ORDER BY campaign_id, id;

-- name: QueueNextHoldExpiry
-- Microseconds from now to the earliest hold's expiry (<= 0: due already,
-- a hold whose campaign another transaction holds); no row: no hold. One
-- probe of applications_held_by_expiry: the worker sleeps until then
-- instead of polling (worker/claim_policy.h). The database's clock, so
-- that the worker's clock need not agree with it.
SELECT campaignq_micros(hold_expires_at) - campaignq_micros(clock_timestamp())
FROM applications
WHERE status = 'held'
ORDER BY hold_expires_at, id
LIMIT 1;

-- name: QueueSetCounterLockTimeout
-- Before ApplicationDecideUncapped, for this transaction only: see there.
SELECT set_config('lock_timeout', '200ms', true);

-- name: ApplicationRecordFailure
-- A deterministic error while deciding application $1 alone (pending; the
-- caller holds its campaign's lock): count the attempt and keep $2 as
-- last_error; after $3 attempts it is failed, out of the queue and out of
-- the cap and FCFS counts, and counted in its campaign's failed_count.
WITH recorded AS (
    UPDATE applications
    SET attempts = attempts + 1, last_error = $2,
        status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE status END,
        decided_at = CASE WHEN attempts + 1 >= $3 THEN clock_timestamp() END,
        updated_at = clock_timestamp()
    WHERE id = $1 AND status = 'pending'
    RETURNING campaign_id, status
), counted AS (
    UPDATE campaigns c SET failed_count = c.failed_count + 1
    FROM recorded r WHERE c.id = r.campaign_id AND r.status = 'failed'
)
SELECT status FROM recorded;

-- name: ApplicationHeadOfCampaign
-- The campaign's first pending application in queue order: the one an
-- isolated batch decides alone ($3 of ApplicationDecideBatch).
SELECT id FROM applications
WHERE campaign_id BETWEEN $1 AND $1 AND status = 'pending'  -- see "Index choice"
ORDER BY campaign_id, queue_key, id LIMIT 1;

-- name: QueueNotifyPending
-- $1 campaign ids (bigint[] text form, built from ids only). Wakes idle
-- workers after Applies committed; sent by one thread, coalesced, with
-- synchronous_commit off (a wake-up is a hint: workers also poll). See
-- common/store/pending_notifier.h for why not inside the Apply transaction.
SELECT set_config('synchronous_commit', 'off', true),
       pg_notify('campaignq_pending', campaign_id::text)
FROM unnest($1::bigint[]) AS campaign_id;

-- name: QueueNotifyDecided
-- One notification per decided batch (NOTIFY takes a global lock at commit,
-- so never one per row). Payload: the campaign id; watchers re-read.
SELECT pg_notify('campaignq_decided', $1::text);

-- name: QueueNotifyDecidedAfterCommit
-- $1 campaign ids (bigint[] text form, built from ids only). The workers'
-- wake-up for watchers, sent in its own transaction right after a batch
-- committed, with synchronous_commit off: NOTIFY takes a global lock from
-- pre-commit through the commit's WAL flush, so sent inside the batch it
-- serialised every worker's commit (no group commit; measured in
-- docs/scaling.md). A notification lost to a crash between the two commits
-- only delays a watch until its re-read (server/application_watch.h).
SELECT set_config('synchronous_commit', 'off', true),
       pg_notify('campaignq_decided', campaign_id::text)
FROM unnest($1::bigint[]) AS campaign_id;

-- name: QueueTotals
-- GetQueueStats' totals, none of them read from the decided history:
-- pending and waitlisted from their partial indexes (as small as the work
-- waiting), approved, rejected, cancelled and failed from the campaigns'
-- counters (migration 0004; they keep counting what retention deleted).
-- Cost: the work waiting, plus one row per campaign.
SELECT (SELECT count(*) FROM applications WHERE status = 'pending'),
       (SELECT count(*) FROM applications WHERE status = 'waitlisted'),
       coalesce(sum(failed_count), 0)::bigint,
       coalesce(sum(approved_count), 0)::bigint,
       coalesce(sum(rejected_count), 0)::bigint,
       coalesce(sum(cancelled_count), 0)::bigint
FROM campaigns;

-- name: QueueCampaignStatsPage
-- One page of GetQueueStats' campaigns: open campaigns and campaigns that
-- still have pending work (a closed campaign's stragglers, see
-- ApplicationDecideBatch), in id order after campaign $1, at most $2, with
-- the age of each one's oldest pending application in microseconds (0:
-- none); QueueHeadsSummary says which are stalled. Reads the open campaigns' index, the
-- campaigns with pending work (a loose index scan) and, per listed
-- campaign, its pending and waitlisted partial index ranges: never the
-- closed campaigns or the decided history.
WITH listed AS (
    (SELECT id FROM campaigns WHERE status = 'open' AND id > $1 ORDER BY id LIMIT $2)
    UNION
    (SELECT campaign_id FROM campaign_queue_heads WHERE campaign_id > $1
     ORDER BY campaign_id LIMIT $2)
    ORDER BY 1 LIMIT $2
)
SELECT c.id, c.name, c.max_participants, c.approved_count, c.status,
       p.pending, w.waitlisted,
       coalesce(campaignq_micros(clock_timestamp()) - campaignq_micros(h.created_at), 0)
FROM listed l
JOIN campaigns c ON c.id = l.id
CROSS JOIN LATERAL (
    -- BETWEEN: the partial indexes (see "Index choice").
    SELECT count(*) AS pending, min(a.id) AS head_id FROM applications a
    WHERE a.campaign_id BETWEEN c.id AND c.id AND a.status = 'pending') p
CROSS JOIN LATERAL (
    SELECT count(*) AS waitlisted FROM applications a
    WHERE a.campaign_id BETWEEN c.id AND c.id AND a.status = 'waitlisted') w
LEFT JOIN applications h ON h.id = p.head_id
ORDER BY c.id;

-- name: QueueHeadsSummary
-- One walk over every campaign's oldest pending application (a loose index
-- scan, one probe per campaign with pending work): the age of the oldest
-- in microseconds (NULL: nothing pending) and the stalled campaigns ($1
-- the threshold in microseconds: pending work older than it and no
-- decision within it), as a bigint[] in id order. Each head's created_at is
-- a scalar subquery (a primary-key probe) in a subquery kept apart by
-- OFFSET 0, never a join the planner may choose: as a join, planned while
-- the table was small, it hashed all of applications at every call.
SELECT campaignq_micros(clock_timestamp()) - campaignq_micros(min(h.created_at)),
       coalesce(array_agg(c.id ORDER BY c.id) FILTER (
           WHERE h.created_at < clock_timestamp() - make_interval(secs => $1 / 1e6)
             AND (c.last_decided_at IS NULL
                  OR c.last_decided_at < clock_timestamp() - make_interval(secs => $1 / 1e6))),
                '{}')
FROM (SELECT q.campaign_id,
             (SELECT a.created_at FROM applications a WHERE a.id = q.head_id) AS created_at
      FROM campaign_queue_heads q
      OFFSET 0) h
JOIN campaigns c ON c.id = h.campaign_id;

-- name: QueueDepth
-- For the metrics gauges: pending applications and the age of the oldest
-- (microseconds; NULL when none). Reads only the pending partial index.
SELECT count(*),
       campaignq_micros(clock_timestamp()) - campaignq_micros(min(created_at))
FROM applications WHERE status = 'pending';
