-- psql -v campaigns=M -v cap=C -v apps=N -f seed.sql
-- M campaigns with cap C each, then N pending applications spread round-robin
-- over them in id order (application k, 1-based, on campaign ((k-1) mod M)+1),
-- which is W2's and W4's interleaving. C = 0 with N = 0 gives the empty table
-- the one-INSERT floor starts from.
INSERT INTO campaigns (id, max_participants)
SELECT c, :cap FROM generate_series(1, :campaigns) AS c;

INSERT INTO applications (id, campaign_id, user_id)
SELECT k, (k - 1) % :campaigns + 1, 1000000 + k
  FROM generate_series(1, :apps) AS k;
-- The identity continues after the seeded ids (one-INSERT floor: nothing seeded).
SELECT setval(pg_get_serial_sequence('applications', 'id'), greatest(:apps, 1), :apps > 0) AS next_id \gset

VACUUM (ANALYZE) campaigns, applications;
