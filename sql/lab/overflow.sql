-- campaign-overflow and fk-lock: a capped campaign and its applications.

-- name: LabOverflowSchema
CREATE TABLE lab_campaigns (
    id             integer PRIMARY KEY,
    cap            integer NOT NULL,
    approved_count integer NOT NULL DEFAULT 0,
    version        bigint  NOT NULL DEFAULT 0,
    CONSTRAINT lab_campaigns_cap CHECK (approved_count <= cap)
);
CREATE TABLE lab_applications (
    id          bigserial PRIMARY KEY,
    campaign_id integer NOT NULL REFERENCES lab_campaigns (id),
    user_id     text    NOT NULL,
    status      text    NOT NULL CHECK (status IN ('pending', 'approved', 'waitlisted')),
    UNIQUE (campaign_id, user_id)
);

-- name: LabOverflowTruncate
TRUNCATE lab_applications, lab_campaigns RESTART IDENTITY;

-- name: LabOverflowCampaignInsert
INSERT INTO lab_campaigns (id, cap) VALUES (1, $1);

-- name: LabOverflowCheck
-- The guide's check: cap and seats taken, read without any lock.
SELECT c.cap,
       (SELECT count(*) FROM lab_applications a
        WHERE a.campaign_id = c.id AND a.status = 'approved')
FROM lab_campaigns c WHERE c.id = 1;

-- name: LabOverflowInsert
-- $1 user id, $2 status.
INSERT INTO lab_applications (campaign_id, user_id, status) VALUES (1, $1, $2);

-- name: LabOverflowLockForUpdate
SELECT cap, approved_count FROM lab_campaigns WHERE id = 1 FOR UPDATE;

-- name: LabOverflowLockNoKey
SELECT cap, approved_count FROM lab_campaigns WHERE id = 1 FOR NO KEY UPDATE;

-- name: LabOverflowLockNowait
SELECT cap, approved_count FROM lab_campaigns WHERE id = 1 FOR NO KEY UPDATE NOWAIT;

-- name: LabOverflowRead
SELECT cap, approved_count, version FROM lab_campaigns WHERE id = 1;

-- name: LabOverflowTakeSeat
-- Constraint-only: the CHECK refuses the seat past the cap (23514).
UPDATE lab_campaigns SET approved_count = approved_count + 1 WHERE id = 1;

-- name: LabOverflowTakeSeatIfVersion
-- Optimistic: no row comes back when the campaign changed since our read.
UPDATE lab_campaigns SET approved_count = approved_count + 1, version = version + 1
WHERE id = 1 AND version = $1
RETURNING version;

-- name: LabOverflowTally
-- approved rows, waitlisted rows, the approved_count column, and FCFS
-- violations: waitlisted applications older (smaller id) than an approved one.
SELECT count(*) FILTER (WHERE status = 'approved'),
       count(*) FILTER (WHERE status = 'waitlisted'),
       (SELECT approved_count FROM lab_campaigns WHERE id = 1),
       count(*) FILTER (WHERE status = 'waitlisted' AND id <
           (SELECT max(id) FROM lab_applications WHERE status = 'approved'))
FROM lab_applications;

-- name: LabQueueTally
-- The same for the real queue's tables (sql/migrations), campaign $1.
SELECT count(*) FILTER (WHERE status = 'approved'),
       count(*) FILTER (WHERE status = 'waitlisted'),
       (SELECT approved_count FROM campaigns WHERE id = $1),
       count(*) FILTER (WHERE status = 'waitlisted' AND id <
           (SELECT max(id) FROM applications WHERE campaign_id = $1 AND status = 'approved')),
       count(*) FILTER (WHERE status = 'pending')
FROM applications WHERE campaign_id = $1;

-- name: LabFkApplicationCount
SELECT count(*) FROM lab_applications;

-- name: LabQueueStatuses
-- Each application's user and status, for the FCFS check by real time.
SELECT user_id, status FROM applications WHERE campaign_id = $1;
