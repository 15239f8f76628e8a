-- A user's sessions: "your devices", "log out that device", "log out everywhere".
--
-- These are user-wide operations, so they look rows up by user (the partial index on
-- (user_id, created_at)), never by scanning. They are SQL, so they are SECURITY DEFINER with a
-- pinned search_path and schema-qualified names. Sessions are named by their handle: 16 hex
-- characters of a random 64-bit number chosen at creation, unrelated to the token, so nothing
-- returned here lets anyone derive a token or its hash.
--
-- Ending a user's sessions takes the per-user lock (varel_session_internal.lock_user) first, like
-- logging in does, so a revoke and a concurrent log-in of the same user happen one after the
-- other: the new session is either ended by the revoke or created after it.

CREATE FUNCTION varel_session.session_user_sessions(user_id bigint)
    RETURNS TABLE (
        handle text,
        created_at timestamptz,
        updated_at timestamptz,
        expires_at timestamptz,
        absolute_expires_at timestamptz,
        ip inet,
        user_agent text,
        last_seen_at timestamptz
    )
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.lpad(pg_catalog.to_hex(s.handle), 16, '0'),
           s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at, s.ip, s.user_agent,
           s.last_seen_at
    FROM varel_session.sessions AS s
    WHERE s.user_id = $1
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    ORDER BY s.created_at DESC, s.handle DESC
$$;
COMMENT ON FUNCTION varel_session.session_user_sessions(bigint) IS
    'the user''s live sessions, newest first, named by handle (never by token), with the client of the last log-in and when each was last used';

CREATE FUNCTION varel_session.session_handle(id text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.lpad(pg_catalog.to_hex(s.handle), 16, '0')
    FROM varel_session.sessions AS s
    WHERE s.token_hash = varel_session_internal.token_hash($1)
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
$$;
COMMENT ON FUNCTION varel_session.session_handle(text) IS
    'the handle of the live session named by the token ("this device" in session_user_sessions), or NULL';

CREATE FUNCTION varel_session.session_revoke(user_id bigint, handle text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- A handle comes from a browser form: anything malformed simply names no session.
    IF $2 IS NULL OR pg_catalog.lower($2) !~ '^[0-9a-f]{16}$' THEN
        RETURN false;
    END IF;
    wanted := ('x' || pg_catalog.lower($2))::pg_catalog.bit(64)::bigint;
    PERFORM varel_session_internal.lock_user($1);
    DELETE FROM varel_session.sessions AS s
    WHERE s.user_id = $1 AND s.handle = wanted
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM varel_session_internal.notify_event('revoked', wanted, $1);
    RETURN true;
END
$$;
COMMENT ON FUNCTION varel_session.session_revoke(bigint, text) IS
    'ends one of the user''s sessions by handle ("log out that device"); false if it is not one of theirs';

CREATE FUNCTION varel_session.session_user_revoke(user_id bigint, except_id text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ended bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM varel_session_internal.lock_user($1);
    -- token_hash() is NULL for a NULL or malformed except_id: then nothing is excepted.
    WITH gone AS (
        DELETE FROM varel_session.sessions AS s
        WHERE s.user_id = $1
          AND s.token_hash IS DISTINCT FROM varel_session_internal.token_hash($2)
        RETURNING s.handle,
                  varel_session_internal.is_live(s.expires_at, s.absolute_expires_at) AS was_live
    ), announced AS (
        SELECT g.was_live, varel_session_internal.notify_event('revoked', g.handle, $1)
        FROM gone AS g WHERE g.was_live
    )
    SELECT count(*) INTO ended FROM announced;
    -- Sessions imported from another store and not claimed yet are the user's too: their old
    -- ids must not work after this (sql/import.sql).
    WITH imported AS (
        UPDATE varel_session.imported_sessions AS i
        SET ended_at = pg_catalog.now(), data = '{}'::pg_catalog.jsonb
        WHERE i.user_id = $1 AND i.ended_at IS NULL
        RETURNING i.accept_until > pg_catalog.now() AS was_live
    )
    SELECT ended + count(*) INTO ended FROM imported WHERE imported.was_live;
    RETURN ended;
END
$$;
COMMENT ON FUNCTION varel_session.session_user_revoke(bigint, text) IS
    'ends all of the user''s sessions except the one whose token is except_id, and their imported sessions not claimed yet; returns how many live ones ended';
