-- for-share: balances whose total never changes (writers move units).

-- name: LabShareSchema
CREATE TABLE lab_balances (id integer PRIMARY KEY, n bigint NOT NULL);

-- name: LabShareTruncate
TRUNCATE lab_balances;

-- name: LabShareSeed
-- $1 rows, $2 starting balance of each.
INSERT INTO lab_balances (id, n) SELECT g, $2 FROM generate_series(1, $1) g;

-- name: LabShareRead
SELECT n FROM lab_balances WHERE id = $1;

-- name: LabShareReadForShare
SELECT n FROM lab_balances WHERE id = $1 FOR SHARE;

-- name: LabShareAdd
UPDATE lab_balances SET n = n + $2 WHERE id = $1;

-- name: LabShareTotal
SELECT sum(n) FROM lab_balances;
