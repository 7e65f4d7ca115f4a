-- campaignq_micros and campaignq_timestamp, inlined. 0001 and 0002 declared
-- them IMMUTABLE, but their bodies call extract(epoch FROM timestamptz) and
-- timestamptz + interval, which PostgreSQL marks STABLE. A SQL function is
-- inlined into the calling query only when its body is no more volatile
-- than declared, so every call went through the SQL-function executor: for
-- campaignq_micros twice per decided row in the worker's batch, 5.5% of
-- PostgreSQL's CPU while deciding (perf, W1 at 1,000,000 rows). Declared
-- STABLE, each becomes its expression. Nothing indexes them (an index would
-- need IMMUTABLE); CREATE OR REPLACE keeps their grants.
CREATE OR REPLACE FUNCTION campaignq_micros(timestamptz) RETURNS bigint
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM $1) * 1000000)::bigint $$;

CREATE OR REPLACE FUNCTION campaignq_timestamp(bigint) RETURNS timestamptz
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$ SELECT timestamptz 'epoch' + $1 * interval '1 microsecond' $$;
