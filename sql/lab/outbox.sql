-- lock-duration: the outbox a committed transaction leaves for delivery.

-- name: LabOutboxSchema
CREATE TABLE lab_outbox (
    id           bigserial PRIMARY KEY,
    payload      text NOT NULL,
    delivered_at timestamptz
);

-- name: LabOutboxTruncate
TRUNCATE lab_outbox RESTART IDENTITY;

-- name: LabOutboxInsert
INSERT INTO lab_outbox (payload) VALUES ($1) RETURNING id;

-- name: LabOutboxMarkDelivered
UPDATE lab_outbox SET delivered_at = clock_timestamp() WHERE id = $1 AND delivered_at IS NULL;

-- name: LabOutboxTally
SELECT count(*), count(delivered_at) FROM lab_outbox;
