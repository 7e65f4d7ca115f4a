-- queue-claim: N workers draining M jobs.

-- name: LabJobsSchema
CREATE TABLE lab_jobs (
    id     bigserial PRIMARY KEY,
    status text    NOT NULL DEFAULT 'pending',
    claims integer NOT NULL DEFAULT 0,
    worker integer
);
CREATE INDEX lab_jobs_pending ON lab_jobs (id) WHERE status = 'pending';

-- name: LabJobsTruncate
TRUNCATE lab_jobs RESTART IDENTITY;

-- name: LabJobsSeed
INSERT INTO lab_jobs (status) SELECT 'pending' FROM generate_series(1, $1);

-- name: LabJobsPeek
-- The unsafe claim: look without locking.
SELECT id FROM lab_jobs WHERE status = 'pending' ORDER BY id LIMIT 1;

-- name: LabJobsClaimForUpdate
SELECT id FROM lab_jobs WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE;

-- name: LabJobsClaimSkipLocked
SELECT id FROM lab_jobs WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED;

-- name: LabJobsClaimNowait
SELECT id FROM lab_jobs WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE NOWAIT;

-- name: LabJobsFinish
-- claims counts every time a job was processed: more than 1 is a double claim.
UPDATE lab_jobs SET status = 'done', claims = claims + 1, worker = $2 WHERE id = $1;

-- name: LabJobsAnyPending
SELECT EXISTS (SELECT 1 FROM lab_jobs WHERE status = 'pending');

-- name: LabJobsTally
-- done jobs, jobs processed more than once, extra processings, jobs left.
SELECT count(*) FILTER (WHERE status = 'done'),
       count(*) FILTER (WHERE claims > 1),
       coalesce(sum(greatest(claims - 1, 0)), 0),
       count(*) FILTER (WHERE status <> 'done')
FROM lab_jobs;
