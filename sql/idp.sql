-- OpenID Connect Back-Channel Logout (OpenID Connect Back-Channel Logout 1.0; OWASP ASVS 5.0
-- 7.1.3 and 7.6.1): when a user logs in through an identity provider, the application records
-- the provider's issuer (iss), its session id (sid) and the user's subject (sub) for the
-- session; when the provider later sends a logout token, session_revoke_idp ends the sessions
-- it names: the one of that sid, or with only a sub, every session of that subject.
--
-- The records are in varel_session.idp_logins (sql/schema.sql), keyed by the session's handle
-- with its user. Both functions are the application's (its back-channel logout endpoint calls
-- the second one): SECURITY DEFINER with a pinned search_path. Like every user-wide operation
-- they take the per-user lock first (varel_session_internal.lock_user), so a record and a
-- logout of one user happen one after the other.

CREATE FUNCTION varel_session.session_set_idp(id text, iss text, sid text DEFAULT NULL,
                                              sub text DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted bytea;
    owner bigint;
    live record;
BEGIN
    IF $2 IS NULL OR ($3 IS NULL AND $4 IS NULL) THEN
        RAISE EXCEPTION 'iss, and sid or sub, must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.length($2) > 2048 OR pg_catalog.length($3) > 2048
       OR pg_catalog.length($4) > 2048 THEN
        RAISE EXCEPTION 'iss, sid and sub must be at most 2048 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A token is untrusted input: a malformed, unknown or expired one is no session (false).
    wanted := varel_session_internal.token_hash($1);
    SELECT s.user_id INTO owner FROM varel_session.sessions AS s
    WHERE s.token_hash = wanted AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'the session has no user'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'log it in with session_set_user first, then record the identity provider''s session under the new token';
    END IF;
    PERFORM varel_session_internal.lock_user(owner);
    -- Under the user's lock: still live, still that user's (a revoke or log-out may have come
    -- first). No row lock: a session destroyed right after leaves a record that names nothing,
    -- which cleanup removes.
    SELECT s.handle, s.user_id INTO live FROM varel_session.sessions AS s
    WHERE s.token_hash = wanted AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
    IF NOT FOUND OR live.user_id IS DISTINCT FROM owner THEN
        RETURN false;
    END IF;
    INSERT INTO varel_session.idp_logins AS l (handle, user_id, iss, sid, sub, recorded_at)
    VALUES (live.handle, live.user_id, $2, $3, $4, pg_catalog.now())
    ON CONFLICT (handle) DO UPDATE
        SET user_id = excluded.user_id, iss = excluded.iss, sid = excluded.sid,
            sub = excluded.sub, recorded_at = excluded.recorded_at;
    RETURN true;
END
$$;
COMMENT ON FUNCTION varel_session.session_set_idp(text, text, text, text) IS
    'records that the logged-in session named by the token came from the identity provider iss, with its session id sid and subject sub, for back-channel logout; false for no session';

-- Of a logout token's claims: with a sid, the sessions of that provider session; with only a
-- sub, every session of that subject at that provider.
CREATE FUNCTION varel_session.session_revoke_idp(iss text, sid text DEFAULT NULL,
                                                 sub text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ended bigint;
    owner bigint;
BEGIN
    IF $1 IS NULL OR ($2 IS NULL AND $3 IS NULL) THEN
        RAISE EXCEPTION 'iss, and sid or sub, must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- The users' locks in one order, so two logouts cannot deadlock.
    FOR owner IN
        SELECT DISTINCT l.user_id FROM varel_session.idp_logins AS l
        WHERE l.iss = $1 AND CASE WHEN $2 IS NOT NULL THEN l.sid = $2 ELSE l.sub = $3 END
        ORDER BY 1
    LOOP
        PERFORM varel_session_internal.lock_user(owner);
    END LOOP;
    WITH matching AS (
        DELETE FROM varel_session.idp_logins AS l
        WHERE l.iss = $1 AND CASE WHEN $2 IS NOT NULL THEN l.sid = $2 ELSE l.sub = $3 END
        RETURNING l.handle, l.user_id
    ), gone AS (
        -- By user, then handle: the sessions table's user index finds them.
        DELETE FROM varel_session.sessions AS s
        USING matching AS m
        WHERE s.user_id = m.user_id AND s.handle = m.handle
        RETURNING s.handle, s.user_id,
                  varel_session_internal.is_live(s.expires_at, s.absolute_expires_at) AS was_live
    ), announced AS (
        SELECT g.was_live, varel_session_internal.notify_event('revoked', g.handle, g.user_id)
        FROM gone AS g WHERE g.was_live
    )
    SELECT count(*) INTO ended FROM announced;
    RETURN ended;
END
$$;
COMMENT ON FUNCTION varel_session.session_revoke_idp(text, text, text) IS
    'back-channel logout: ends the sessions recorded for the identity provider iss with session id sid, or with only sub every session of that subject; returns how many live ones ended';
