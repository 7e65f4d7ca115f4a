-- campaignq's database roles: the one source of truth for who may do what.
-- Plain SQL (no psql meta-commands), idempotent, run by an administrator
-- (a superuser, or a role with CREATEROLE that owns the database) while
-- connected to campaignq's database:
--
--   scripts/apply-roles postgresql://admin@db/campaignq   (also sets passwords)
--
-- Run it before the first migration (it creates the migration owner that
-- migrates) and again after every migration (it grants on the tables and
-- columns the migrations created; until then that part only says so in a
-- NOTICE). The e2e tests run the binaries under these roles (tests/support/
-- stack.cc), and so do deploy/compose.yaml and the container test tier.
-- docs/security-deploy.md describes the admin step.
--
--   campaignq_migrate  the migrate step (compose `migrate`, the k8s Job,
--                      `campaignq-server --migrate=auto --migrate-only`):
--                      owns the schema's tables, view and function
--   campaignq_server   campaignq-server: creates campaigns and applications,
--                      cancels and closes; reads everything it serves
--   campaignq_worker   campaignq-worker: decides pending applications
--
-- Neither the server nor the worker may run DDL, INSERT into or UPDATE
-- schema_migrations (they run with --migrate=verify, which only reads it),
-- TRUNCATE anything, DELETE anything but what the server's retention and
-- DeleteCampaign remove (applications of closed campaigns, closed campaign
-- rows), or change a column their SQL
-- (sql/queries/*.sql) never writes: an application's campaign_id, user_id or
-- created_at, a campaign's name, cap or waitlist. Advisory locks,
-- LISTEN/NOTIFY (pg_notify) and the session settings campaignq sets need no
-- grant.
--
-- No role gets a password here: scripts/apply-roles sets them from the
-- environment or from files, and a role without one cannot log in over
-- password authentication.

-- Roles --------------------------------------------------------------------------
-- CREATE ROLE has no IF NOT EXISTS; a concurrent run that created it first
-- is as good.
DO $$ BEGIN CREATE ROLE campaignq_migrate; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE campaignq_server; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE campaignq_worker; EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- CONNECTION LIMIT is per role across the whole cluster: size it for the
-- fleet, max replicas x connections per replica (the server: --pool-size,
-- 16, plus 3; a worker: --concurrency plus 2, LISTEN and heartbeat; deploy/k8s/hpa.yaml's
-- maxReplicas: 6 servers, 10 workers), below max_connections minus what
-- the administrators need. Re-running this file resets them to these values.
ALTER ROLE campaignq_migrate WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS CONNECTION LIMIT 5;
ALTER ROLE campaignq_server WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS CONNECTION LIMIT 200;
ALTER ROLE campaignq_worker WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS CONNECTION LIMIT 100;

-- A backstop under the processes' own deadlines: no statement of theirs
-- runs longer, whatever a client or a bug asks for. The longest legitimate
-- ones (a list page, the queue statistics, a batch decision) take
-- milliseconds; a lock wait is bounded by idle_in_transaction_session_timeout
-- of the holder (10 s by default). Migrations get none: they may rewrite a
-- table.
ALTER ROLE campaignq_server SET statement_timeout = '30s';
ALTER ROLE campaignq_worker SET statement_timeout = '30s';
ALTER ROLE campaignq_migrate RESET statement_timeout;

-- The database and its schema ---------------------------------------------------
-- Nobody else connects; the migration owner alone creates objects (PUBLIC
-- loses CREATE on schema public, as PostgreSQL 15 does by default).
DO $$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO campaignq_migrate, campaignq_server, '
                 'campaignq_worker', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO campaignq_migrate;
GRANT USAGE ON SCHEMA public TO campaignq_server, campaignq_worker;

-- Tables and columns (once migrated) ----------------------------------------------
-- Exactly what sql/queries/*.sql runs: campaigns.sql and applications.sql
-- (the server, through common/store), queue.sql (the worker's claim,
-- common/queue; the statistics the server serves), migrations.sql (verify:
-- reads schema_migrations only). SELECT ... FOR [NO KEY] UPDATE needs an
-- UPDATE grant on some column, which each role has where it locks. Identity
-- columns need no sequence grant; campaignq_micros is EXECUTE for PUBLIC.
-- Everything is revoked first, so that a grant removed here is removed from
-- the database too.
DO $$
BEGIN
  IF to_regclass('public.schema_migrations') IS NULL OR to_regclass('public.applications') IS NULL
  THEN
    RAISE NOTICE 'campaignq: the schema is not migrated yet; run this again after migrating '
                 '(as campaignq_migrate) to grant on its tables';
    RETURN;
  END IF;
  REVOKE ALL ON public.campaigns, public.applications, public.campaign_queue_heads,
    public.schema_migrations FROM PUBLIC, campaignq_server, campaignq_worker;

  GRANT SELECT ON public.campaigns, public.applications, public.campaign_queue_heads,
    public.schema_migrations TO campaignq_server, campaignq_worker;

  -- CreateCampaign (with its schedule and request id); CloseCampaign and the
  -- scheduled close; a seat freed by Cancel; Pause/Resume; retention's mark.
  GRANT INSERT (name, max_participants, waitlist, opens_at, closes_at, request_id,
    request_digest, hold_duration_ms, max_active_holds) ON public.campaigns TO campaignq_server;
  GRANT UPDATE (status, closed_at, approved_count, rejected_count, cancelled_count,
                failed_count, paused, purged_at, held_count, released_count, expired_count)
    ON public.campaigns TO campaignq_server;
  -- Apply; Cancel, waitlist promotion, rejection at close; RetryApplication.
  GRANT INSERT (campaign_id, user_id) ON public.applications TO campaignq_server;
  GRANT UPDATE (status, reason, decided_at, updated_at, attempts, last_error, hold_expires_at)
    ON public.applications TO campaignq_server;
  -- Retention (--retain-decided) and DeleteCampaign, both of closed
  -- campaigns only (the SQL says so in its WHERE).
  GRANT DELETE ON public.applications, public.campaigns TO campaignq_server;

  -- The fair opening (migration 0009): CreateCampaign's pre-queue, the
  -- pre-queue key an Apply writes, the maintenance leader's announcement.
  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'
             AND table_name = 'applications' AND column_name = 'prequeue_key') THEN
    GRANT INSERT (prequeue_opens_at) ON public.campaigns TO campaignq_server;
    GRANT UPDATE (opening_announced_at) ON public.campaigns TO campaignq_server;
    GRANT INSERT (prequeue_key) ON public.applications TO campaignq_server;
  END IF;

  -- Worker heartbeats (migration 0003): each worker writes its own row and
  -- prunes long-gone ones; the server's console reads them.
  IF to_regclass('public.worker_heartbeats') IS NOT NULL THEN
    REVOKE ALL ON public.worker_heartbeats FROM PUBLIC, campaignq_server, campaignq_worker;
    GRANT SELECT ON public.worker_heartbeats TO campaignq_server;
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.worker_heartbeats TO campaignq_worker;
  END IF;

  -- The batch decision (with its holds, migration 0008) and the failure
  -- bookkeeping.
  GRANT UPDATE (approved_count, rejected_count, failed_count, last_decided_at, held_count,
                released_count, expired_count)
    ON public.campaigns
    TO campaignq_worker;
  GRANT UPDATE (status, reason, decided_at, updated_at, attempts, last_error, hold_expires_at)
    ON public.applications TO campaignq_worker;
END $$;
