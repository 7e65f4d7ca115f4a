-- The batched floor of W2 x10 and W4: one statement (one transaction) claims
-- up to 50 pending applications, locks their campaigns in ascending id order
-- (every batch takes its locks in the same order, so two batches cannot
-- deadlock), approves, per campaign and oldest first, as many as it has room
-- for, rejects the rest, and moves each approved_count on by its approvals.
WITH batch AS (
  SELECT id, campaign_id
    FROM applications
   WHERE status = 'pending'
   ORDER BY id
   LIMIT 50
     FOR UPDATE SKIP LOCKED
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
