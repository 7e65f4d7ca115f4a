-- deadlock: transactions that touch a user row and a campaign row.

-- name: LabDeadlockSchema
CREATE TABLE lab_users (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0);
CREATE TABLE lab_dl_campaigns (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0);

-- name: LabDeadlockTruncate
TRUNCATE lab_users, lab_dl_campaigns;

-- name: LabDeadlockSeedUsers
INSERT INTO lab_users (id) SELECT g FROM generate_series(1, $1) g;

-- name: LabDeadlockSeedCampaigns
INSERT INTO lab_dl_campaigns (id) SELECT g FROM generate_series(1, $1) g;

-- name: LabDeadlockTouchUser
UPDATE lab_users SET n = n + 1 WHERE id = $1;

-- name: LabDeadlockTouchCampaign
UPDATE lab_dl_campaigns SET n = n + 1 WHERE id = $1;

-- name: LabDeadlockTally
SELECT (SELECT coalesce(sum(n), 0) FROM lab_users),
       (SELECT coalesce(sum(n), 0) FROM lab_dl_campaigns);
