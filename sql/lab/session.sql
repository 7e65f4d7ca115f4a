-- Session and schema plumbing of the race lab (campaignq lab). Each scenario
-- runs in its own schema, created and dropped by the lab.

-- name: LabSchemaFunctions
-- Session-local helpers (pg_temp) so that the schema name, which the lab
-- generates, still travels as a parameter: format(%I) quotes it. Run as a
-- script (several statements), never prepared.
CREATE OR REPLACE FUNCTION pg_temp.lab_create_schema(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE SCHEMA %I', schema_name);
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
-- Unqualified names (the lab tables, the real migrations) resolve in the
-- scenario's schema only.
SELECT set_config('search_path', $1, false);

-- name: LabSetConfig
-- $1 a setting name fixed in the lab's code, $2 its value, for the session.
SELECT set_config($1, $2, false);

-- name: LabShowSetting
SELECT current_setting($1);
