-- The SQL edition's design alternatives (bench/run.py, "sql_edition" group). They live in the
-- benchmark's SQL-edition database only, never in the extension.
CREATE SCHEMA bench_alt;

-- The token check with a regular expression, as first written.
CREATE FUNCTION bench_alt.token_hash_regex(id text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN $1 OPERATOR(pg_catalog.~) '^[0-9a-fA-F]{64}$'
                THEN pg_catalog.sha256(pg_catalog.decode($1, 'hex')) END
$$;

-- session_get as shipped, but with that check.
CREATE FUNCTION bench_alt.get_regex(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at
        FROM varel_session.sessions AS s
        WHERE s.token_hash = bench_alt.token_hash_regex(id)
          AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
END
$$;

-- session_get as a SQL-language function (planned again on every call before PostgreSQL 18).
CREATE FUNCTION bench_alt.get_sql(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at
    FROM varel_session.sessions AS s
    WHERE s.token_hash = varel_session_internal.token_hash($1)
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
$$;

-- The C edition's updated_at trigger, which the SQL edition leaves out (created on the table
-- for the "with the trigger" workload only, and dropped after it).
CREATE FUNCTION bench_alt.sessions_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.data IS DISTINCT FROM OLD.data OR NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
