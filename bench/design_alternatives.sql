-- The alternatives the design was measured against (bench/run.py, "design" phase). They live
-- in the benchmark database only, never in the extension.
CREATE SCHEMA bench_alt;

-- session_get written in SQL, as SECURITY DEFINER with a pinned search_path (the usual way to
-- expose a private table safely).
CREATE FUNCTION bench_alt.get_sql_pinned(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at
    FROM varel_session.sessions AS s
    WHERE s.token_hash = varel_session_internal.token_hash($1)
      AND s.expires_at > pg_catalog.now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > pg_catalog.now())
$$;

-- The same without SET search_path (unsafe as an API; here only to price the SET).
CREATE FUNCTION bench_alt.get_sql_definer(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at
    FROM varel_session.sessions AS s
    WHERE s.token_hash = varel_session_internal.token_hash($1)
      AND s.expires_at > pg_catalog.now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > pg_catalog.now())
$$;

-- The extension's own C function, declared RETURNS TABLE(...) instead of SETOF a row type.
CREATE FUNCTION bench_alt.get_c_returns_table(id text)
    RETURNS TABLE (data jsonb, user_id bigint, created_at timestamptz, updated_at timestamptz,
                   expires_at timestamptz, absolute_expires_at timestamptz)
    LANGUAGE c STABLE ROWS 1 AS '$libdir/varel_session', 'varel_session_get';

-- The extension's C function behind SECURITY DEFINER + SET search_path (what it would cost to
-- declare the hot path the usual way).
CREATE FUNCTION bench_alt.get_c_pinned(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE c STABLE ROWS 1 SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS '$libdir/varel_session', 'varel_session_get';

-- session_set(id, key, value) written in SQL: one UPDATE, SECURITY DEFINER, pinned.
CREATE FUNCTION bench_alt.set_sql_pinned(id text, key text, value text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    WITH changed AS (
        UPDATE varel_session.sessions AS s
        SET data = s.data || pg_catalog.jsonb_build_object($2, $3), updated_at = pg_catalog.now()
        WHERE s.token_hash = varel_session_internal.token_hash($1)
          AND s.expires_at > pg_catalog.now()
          AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > pg_catalog.now())
        RETURNING 1
    )
    SELECT count(*) > 0 FROM changed
$$;

-- session_get without the checks it makes on every call (that the table, its primary key and
-- the result row type are what the C code relies on): built only with the bench_unchecked
-- feature, which scripts/bench.sh enables, to price those checks.
CREATE FUNCTION bench_alt.get_c_unchecked(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE c STABLE PARALLEL SAFE ROWS 1
    AS '$libdir/varel_session', 'varel_session_get_unchecked';
