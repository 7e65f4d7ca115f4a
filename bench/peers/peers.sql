-- SQL of the peer runners (bench/peers/run.js), in named blocks like the
-- service's sql/ files. The tables are the SQL floor's (bench/floor/schema.sql).

-- name: ApplicationIds
-- W2's jobs, one per application, enqueued in id order.
SELECT id FROM applications ORDER BY id;

-- name: GraphileAddAll
-- graphile-worker's bulk enqueue (its add_jobs function, what addJobs calls):
-- one 'decide' job per application in id order, payload {"app": id}.
SELECT count(*) AS added
  FROM graphile_worker.add_jobs(ARRAY(
         SELECT ROW('decide', json_build_object('app', id), NULL, NULL, NULL, NULL, NULL, NULL)
                  ::graphile_worker.job_spec
           FROM applications ORDER BY id));

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
