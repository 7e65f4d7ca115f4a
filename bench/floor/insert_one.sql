-- Apply's floor: one autocommit INSERT of a pending application per
-- transaction, so one durable commit (one WAL flush) each. pgbench -D campaigns=M.
\set campaign random(1, :campaigns)
\set user random(1, 2000000000)
INSERT INTO applications (campaign_id, user_id) VALUES (:campaign, :user);
