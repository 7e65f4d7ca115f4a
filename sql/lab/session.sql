-- Session and schema plumbing of the race lab (campaignq lab). Each scenario
-- runs in its own schema, created and dropped by the lab.

-- name: LabSchemaFunctions
-- Session-local helpers (pg_temp) so that the schema name, which the lab
-- generates, still travels as a parameter: format(%I) quotes it. Run as a
-- script (several statements), never prepared.
--
-- The schema gets its own pg_notify(channel, payload), found before
-- pg_catalog's (the lab's search_path is '<schema>, pg_catalog'): the real
-- store and claim code the lab runs (campaign-overflow's "queue" row)
-- notify campaignq_pending and campaignq_decided, channels that are
-- database-wide, and the lab must never wake or mislead the service's
-- workers and watchers on a shared database. The notification still
-- happens (its commit-time cost is part of what the lab measures), on
-- '<schema>.<channel>', a channel nobody else listens on.
CREATE OR REPLACE FUNCTION pg_temp.lab_create_schema(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE SCHEMA %I', schema_name);
  EXECUTE format(
    'CREATE FUNCTION %I.pg_notify(channel text, payload text) RETURNS void LANGUAGE sql '
    'AS %L', schema_name,
    format('SELECT pg_catalog.pg_notify(%L || channel, payload)', schema_name || '.'));
END $$;
CREATE OR REPLACE FUNCTION pg_temp.lab_drop_schema(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', schema_name);
END $$;

-- name: LabCreateSchema
SELECT pg_temp.lab_create_schema($1);

-- name: LabDropSchema
SELECT pg_temp.lab_drop_schema($1);

-- name: LabSetSearchPath
-- $1 a scenario's schema name. Unqualified names (the lab tables, the real
-- migrations) resolve in the scenario's schema only, and before pg_catalog:
-- the schema's pg_notify is the one called (see LabSchemaFunctions).
SELECT set_config('search_path', format('%I, pg_catalog', $1::text), false);

-- name: LabServiceSchemaExists
-- Whether the database holds the campaignq service's schema (the tables
-- its migrations create, in the default search_path): the lab refuses such
-- a database unless told it is shared on purpose (--shared-database).
SELECT to_regclass('schema_migrations') IS NOT NULL
    OR to_regclass('campaigns') IS NOT NULL
    OR to_regclass('applications') IS NOT NULL;

-- name: LabSetConfig
-- $1 a setting name fixed in the lab's code, $2 its value, for the session.
SELECT set_config($1, $2, false);

-- name: LabShowSetting
SELECT current_setting($1);
