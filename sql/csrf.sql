-- CSRF tokens bound to the session (NIST SP 800-63B-4 §5.1, OWASP's synchronizer token): a
-- page's forms carry session_csrf_token(id), and a state-changing request is accepted only if
-- session_csrf_verify(id, what the form sent) is true.
--
-- The CSRF token is derived from the session token (SHA-256 of a prefix of its own and the
-- token), so nothing is stored and it changes whenever the session token is rotated (log-in,
-- log-out, session_regenerate): a form rendered before a log-in is refused after it. Knowing a
-- CSRF token gives nothing towards the session token (SHA-256 is one-way), and the stored hash
-- of the session token gives nothing towards the CSRF token (its input differs), so a dump of
-- the table cannot forge one either.
--
-- Both are the application's: SECURITY DEFINER with a pinned search_path, reading one row by
-- the token's hash. An unknown, malformed or expired token is no session: NULL, false.

-- The CSRF token of a session token, whether or not the session exists.
CREATE FUNCTION varel_session_internal.csrf_token_for(id text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
        'varel_session csrf token:' || $1, 'UTF8')), 'hex')
$$;
COMMENT ON FUNCTION varel_session_internal.csrf_token_for(text) IS
    'internal: the CSRF token derived from a session token (SHA-256 of a prefix and the token, as 64 hex characters)';

CREATE FUNCTION varel_session.session_csrf_token(id text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT varel_session_internal.csrf_token_for($1)
    FROM varel_session.sessions AS s
    WHERE s.token_hash = varel_session_internal.token_hash($1)
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
$$;
COMMENT ON FUNCTION varel_session.session_csrf_token(text) IS
    'the CSRF token of the live session named by the token (64 hex characters, changes when the token is rotated), or NULL';

-- Constant time: the two values are hashed before they are compared, so how long the
-- comparison takes depends on hashes the sender cannot steer, not on how much of the candidate
-- was right.
CREATE FUNCTION varel_session.session_csrf_verify(id text, candidate text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((
        SELECT pg_catalog.sha256(pg_catalog.convert_to(varel_session_internal.csrf_token_for($1), 'UTF8'))
               = pg_catalog.sha256(pg_catalog.convert_to($2, 'UTF8'))
        FROM varel_session.sessions AS s
        WHERE s.token_hash = varel_session_internal.token_hash($1)
          AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    ), false)
$$;
COMMENT ON FUNCTION varel_session.session_csrf_verify(text, text) IS
    'whether candidate is the CSRF token of the live session named by the token (compared in constant time); false for no session or no candidate';
