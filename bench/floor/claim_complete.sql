-- W1's floor, the cheapest empty job: one autocommit statement claims the
-- oldest pending row nobody else holds and marks it done. No campaign, no cap.
UPDATE applications
   SET status = 'approved', decided_at = now()
 WHERE id = (SELECT id FROM applications
              WHERE status = 'pending'
              ORDER BY id
              LIMIT 1
                FOR UPDATE SKIP LOCKED);
