-- The per-job floor of W2 / W2-hot: what a hand-written worker does for one
-- application, statement by statement (BEGIN, claim, campaign lock, one or
-- two UPDATEs, COMMIT: 5-6 round trips, one transaction).
BEGIN;
-- Claim the oldest pending application nobody else holds. An aggregate always
-- returns one row, so the script also runs (as a no-op) once the queue is empty.
SELECT count(*) AS claimed, coalesce(max(id), 0) AS app, coalesce(max(campaign_id), 0) AS camp
  FROM (SELECT id, campaign_id FROM applications
         WHERE status = 'pending'
         ORDER BY id
         LIMIT 1
         FOR UPDATE SKIP LOCKED) AS head \gset
\if :claimed
-- Serialise the deciders of this campaign. NO KEY UPDATE leaves the foreign
-- key's KEY SHARE locks of concurrent INSERTs alone.
SELECT (approved_count < max_participants)::int AS room
  FROM campaigns WHERE id = :camp
   FOR NO KEY UPDATE \gset
\if :room
UPDATE campaigns SET approved_count = approved_count + 1 WHERE id = :camp;
UPDATE applications SET status = 'approved', decided_at = now() WHERE id = :app;
\else
UPDATE applications SET status = 'rejected', decided_at = now() WHERE id = :app;
\endif
\endif
COMMIT;
