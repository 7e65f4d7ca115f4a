-- An applicant's ListApplications: authorization forces its user id and it
-- names no campaign, so it reads "user_id = $1 ... ORDER BY id". Without an
-- index that leads with user_id every page walked the primary key over the
-- whole history (O(table) per call, on a request-pool connection: 16 such
-- calls in parallel starved Apply). user_id never changes, but a decision
-- is never a HOT update (status is in the partial indexes' predicates), so
-- this index gains an entry per decision as well as per Apply: the price
-- of an applicant's page costing one page (README, "Indexes follow the
-- queries").
--
-- Plain CREATE INDEX, inside the migrator's one transaction with its
-- schema_migrations row (common/db/migrator.h): CREATE INDEX CONCURRENTLY
-- cannot run in a transaction block, and outside one a crash between the
-- build and the record would leave the migration half applied. The build
-- holds a SHARE lock on applications: reads go on, Applies and decisions
-- wait for it (2,000,000 rows: about 2 s on the 2-core development
-- machine). A large installation that must not pause writes builds it
-- first, by hand, with
--     CREATE INDEX CONCURRENTLY applications_by_user ON applications (user_id, id);
-- and then migrates: IF NOT EXISTS makes this a no-op. A concurrent build
-- that failed leaves an invalid index of that name, which would never
-- serve a query, so the migration refuses it (drop it and migrate again).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE c.relname = 'applications_by_user'
                 AND c.relnamespace = current_schema()::regnamespace
                 AND NOT i.indisvalid) THEN
        RAISE EXCEPTION 'index applications_by_user is invalid (a failed CREATE INDEX CONCURRENTLY)'
            USING HINT = 'DROP INDEX CONCURRENTLY applications_by_user; then migrate again';
    END IF;
END
$$;

CREATE INDEX IF NOT EXISTS applications_by_user ON applications (user_id, id);
