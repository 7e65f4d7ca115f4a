-- The decision audit: one row per status change of an application, written
-- by a trigger, so that the kit can prove that each application left
-- 'pending' exactly once, can date every seat given back (a cancellation,
-- a hold's end) and can replay the seats commit by commit. Installed by tests and by whoever
-- wants those two checks (verify::InstallDecisionAudit); never by the
-- service, and never by `campaignq storm` (it would cost every decision an
-- INSERT in a database the storm does not own). Idempotent.

-- name: CheckAuditCreateTable
CREATE TABLE IF NOT EXISTS campaignq_check_audit (
    application_id bigint      NOT NULL,
    old_status     text        NOT NULL,
    new_status     text        NOT NULL,
    -- The clock inside the changing transaction. Every status change of a
    -- campaign's applications holds that campaign's lock, so within one
    -- campaign these times follow the order the changes committed in.
    changed_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The changing transaction: the replay of seats (verify/seats.h) judges
    -- each commit's end state, not each row's.
    xact           bigint      DEFAULT txid_current()
);

-- name: CheckAuditAddTransaction
-- An audit installed before the column: its old rows get none (each is
-- replayed as a transaction of its own), so the default comes after.
ALTER TABLE campaignq_check_audit ADD COLUMN IF NOT EXISTS xact bigint;

-- name: CheckAuditTransactionDefault
ALTER TABLE campaignq_check_audit ALTER COLUMN xact SET DEFAULT txid_current();

-- name: CheckAuditCreateIndex
CREATE INDEX IF NOT EXISTS campaignq_check_audit_by_application
    ON campaignq_check_audit (application_id);

-- name: CheckAuditCreateFunction
-- SECURITY DEFINER: the trigger fires in the sessions of the server and the
-- workers, whose roles (sql/roles.sql) may not write this table; it writes
-- as whoever installed the audit. The search_path is pinned so that those
-- sessions cannot redirect the INSERT.
CREATE OR REPLACE FUNCTION campaignq_check_audit_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
BEGIN
  INSERT INTO campaignq_check_audit (application_id, old_status, new_status)
  VALUES (NEW.id, OLD.status, NEW.status);
  RETURN NEW;
END $$;

-- name: CheckAuditCreateTrigger
CREATE OR REPLACE TRIGGER campaignq_check_audit
    AFTER UPDATE OF status ON applications
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION campaignq_check_audit_row();

-- name: CheckAuditInstalled
SELECT to_regclass('campaignq_check_audit') IS NOT NULL;
