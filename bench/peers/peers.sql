-- SQL of the peer runners (bench/peers/run.js), in named blocks like the
-- service's sql/ files. The tables are the SQL floor's (bench/floor/schema.sql).

-- name: ApplicationIds
-- W2's jobs, one per application, enqueued in id order.
SELECT id FROM applications ORDER BY id;

-- name: GraphileOutstanding
-- Jobs graphile-worker has not finished (it deletes a job once it completes).
SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = $1;

-- name: PgBossOutstanding
-- Jobs pg-boss has not finished (created, retry or active).
SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state < 'completed';

-- name: Pending
SELECT count(*) AS n FROM applications WHERE status = 'pending';

-- name: LockApplication
-- The job's application, locked; no row when it was decided already (a
-- retried job), which makes the handler idempotent.
SELECT campaign_id FROM applications WHERE id = $1 AND status = 'pending' FOR UPDATE;

-- name: LockCampaign
-- Serialises the deciders of one campaign; NO KEY UPDATE leaves the foreign
-- key's KEY SHARE locks of concurrent INSERTs alone.
SELECT max_participants, approved_count FROM campaigns WHERE id = $1 FOR NO KEY UPDATE;

-- name: CountApproval
UPDATE campaigns SET approved_count = approved_count + 1 WHERE id = $1;

-- name: Approve
UPDATE applications SET status = 'approved', decided_at = now() WHERE id = $1;

-- name: Reject
UPDATE applications SET status = 'rejected', decided_at = now() WHERE id = $1;

-- name: DecideBatch
-- pg-boss's W2 batch ($1: its applications' ids), decided in one statement in
-- the transaction that completes the batch's jobs: the applications still
-- pending are locked, then their campaigns in ascending id order (so two
-- batches cannot deadlock), each campaign approves its oldest up to its room
-- and rejects the rest, and approved_count moves on by its approvals. The
-- work campaignq's worker does per batch, and bench/floor/decide_batch50.sql's
-- decision for a batch it was handed instead of one it claimed.
WITH batch AS (
  SELECT id, campaign_id
    FROM applications
   WHERE id = ANY ($1::bigint[]) AND status = 'pending'
   ORDER BY id
     FOR UPDATE
), held AS (
  SELECT c.id, c.max_participants - c.approved_count AS room
    FROM campaigns c
   WHERE c.id = ANY (ARRAY(SELECT DISTINCT campaign_id FROM batch))
   ORDER BY c.id
     FOR NO KEY UPDATE
), verdict AS (
  SELECT b.id, b.campaign_id,
         rank() OVER (PARTITION BY b.campaign_id ORDER BY b.id) <= h.room AS approve
    FROM batch b
    JOIN held h ON h.id = b.campaign_id
), counted AS (
  UPDATE campaigns c
     SET approved_count = c.approved_count + v.approvals
    FROM (SELECT campaign_id, count(*) FILTER (WHERE approve) AS approvals
            FROM verdict GROUP BY campaign_id) AS v
   WHERE c.id = v.campaign_id AND v.approvals > 0
)
UPDATE applications a
   SET status = CASE WHEN v.approve THEN 'approved' ELSE 'rejected' END,
       decided_at = now()
  FROM verdict v
 WHERE a.id = v.id;
