-- lost-update (and lock-duration): one counter row.

-- name: LabCounterSchema
CREATE TABLE lab_counters (
    id      integer PRIMARY KEY,
    n       bigint  NOT NULL,
    version bigint  NOT NULL DEFAULT 0
);

-- name: LabCounterReset
INSERT INTO lab_counters (id, n, version) VALUES (1, 0, 0)
ON CONFLICT (id) DO UPDATE SET n = 0, version = 0;

-- name: LabCounterRead
SELECT n, version FROM lab_counters WHERE id = 1;

-- name: LabCounterReadForUpdate
SELECT n FROM lab_counters WHERE id = 1 FOR UPDATE;

-- name: LabCounterReadForNoKeyUpdate
SELECT n FROM lab_counters WHERE id = 1 FOR NO KEY UPDATE;

-- name: LabCounterWrite
-- The unsafe and locked strategies write back the value they computed.
UPDATE lab_counters SET n = $1 WHERE id = 1;

-- name: LabCounterIncrement
-- The atomic form: the row lock of the UPDATE orders the increments.
UPDATE lab_counters SET n = n + 1 WHERE id = 1;

-- name: LabCounterWriteIfVersion
-- Optimistic: no row comes back when someone else wrote since our read.
UPDATE lab_counters SET n = $1, version = version + 1 WHERE id = 1 AND version = $2
RETURNING version;
