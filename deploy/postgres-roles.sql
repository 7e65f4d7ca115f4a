-- Roles for campaignq on an external PostgreSQL (13+; tested on 15), run
-- once by an administrator, e.g.
--   psql "postgresql://admin@db/postgres" -v migrate_password=... -v app_password=... -f deploy/postgres-roles.sql
--
--   campaignq_migrate  the migrate step (compose `migrate`, k8s Job): owns
--                      the tables, view and function it creates
--   campaignq_app      server and workers: reads and writes rows, never DDL
--
-- Neither needs SUPERUSER, CREATEDB or CREATEROLE. Advisory locks,
-- LISTEN/NOTIFY and the session settings campaignq uses
-- (idle_in_transaction_session_timeout, lock_timeout) need no grant.
CREATE ROLE campaignq_migrate LOGIN PASSWORD :'migrate_password';
CREATE ROLE campaignq_app LOGIN PASSWORD :'app_password';
CREATE DATABASE campaignq;
\connect campaignq

-- Since PostgreSQL 15, nobody may create objects in schema public by default.
REVOKE ALL ON DATABASE campaignq FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE campaignq TO campaignq_migrate, campaignq_app;
GRANT CREATE ON DATABASE campaignq TO campaignq_migrate;
GRANT USAGE, CREATE ON SCHEMA public TO campaignq_migrate;
GRANT USAGE ON SCHEMA public TO campaignq_app;

-- Every table the migrations create (now and later) is readable and writable
-- by the app role: SELECT, INSERT, UPDATE (no DELETE, no TRUNCATE: rows are
-- never removed). The view campaign_queue_heads needs SELECT; identity
-- sequences need nothing more; the function is EXECUTE for PUBLIC.
ALTER DEFAULT PRIVILEGES FOR ROLE campaignq_migrate IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE ON TABLES TO campaignq_app;
ALTER DEFAULT PRIVILEGES FOR ROLE campaignq_migrate IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO campaignq_app;
-- When migrations already ran before these roles existed (objects owned by
-- another role), grant on what is there too:
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO campaignq_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO campaignq_app;
