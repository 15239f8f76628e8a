-- varel_session 0.3.0 -> 0.4.0 (ALTER EXTENSION varel_session UPDATE TO '0.4.0').
-- Every statement here matches what sql/*.sql creates for a fresh 0.4.0 install; the upgrade
-- test (tests/upgrade) compares the two catalogs.
\echo Use "ALTER EXTENSION varel_session UPDATE" to load this file. \quit


-- Sessions imported from another store (sql/import.sql), waiting for their first request. Each
-- is keyed by a hash of the old store's name and the old id, never the id itself, and that
-- hash's input starts with a prefix of its own, so it can never be the stored form of a token
-- or a framework id. The first request that presents the old id claims the row: it becomes a
-- session of the sessions table under a new token, and the row stays behind, ended (data
-- emptied), so that the old id never works a second time, not even when the import runs again.
-- Cleanup removes a waiting row once its deadline (accept_until) has passed, and an ended one
-- once the old store's expiry has passed too.
CREATE TABLE varel_session.imported_sessions (
    id_hash      bytea       NOT NULL,
    user_id      bigint,
    created_at   timestamptz,
    expires_at   timestamptz NOT NULL,
    accept_until timestamptz NOT NULL,
    imported_at  timestamptz NOT NULL,
    ended_at     timestamptz,
    max_age      interval,
    store        text        NOT NULL,
    data         jsonb       NOT NULL,
    CONSTRAINT imported_sessions_pkey PRIMARY KEY (id_hash),
    CONSTRAINT imported_sessions_accept_until_check CHECK (accept_until OPERATOR(pg_catalog.<=) expires_at)
);
-- "Log out everywhere" ends a user's imported sessions too (sql/users.sql).
CREATE INDEX imported_sessions_user_id_idx ON varel_session.imported_sessions (user_id)
    WHERE user_id IS NOT NULL AND ended_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('varel_session.imported_sessions', '');
COMMENT ON TABLE varel_session.imported_sessions IS
    'sessions imported from another store, until their first request claims them; reachable only through the varel_session functions';
COMMENT ON COLUMN varel_session.imported_sessions.id_hash IS
    'SHA-256 of a prefix, the old store''s name and the old session id; the id itself is never stored';
COMMENT ON COLUMN varel_session.imported_sessions.accept_until IS
    'the old id is accepted until then (at the latest the old store''s expiry); cleanup removes the row afterwards';
COMMENT ON COLUMN varel_session.imported_sessions.ended_at IS
    'when the old id was claimed or its user logged out everywhere; the old id works no more';

-- Log-ins through an OpenID Connect provider (sql/idp.sql): the provider's issuer, its session
-- id (sid) and the user's subject (sub) for a session, so that the provider's back-channel
-- logout can end it. Keyed by the session's handle (stable across rotations, never the token)
-- with its user, so that ending the matching sessions goes through the user index of the
-- sessions table. A row outlives its session until the next cleanup removes it.
CREATE TABLE varel_session.idp_logins (
    handle      bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    iss         text        NOT NULL,
    sid         text,
    sub         text,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT idp_logins_pkey PRIMARY KEY (handle),
    CONSTRAINT idp_logins_sid_or_sub CHECK (sid IS NOT NULL OR sub IS NOT NULL)
);
CREATE INDEX idp_logins_sid_idx ON varel_session.idp_logins (iss, sid) WHERE sid IS NOT NULL;
CREATE INDEX idp_logins_sub_idx ON varel_session.idp_logins (iss, sub) WHERE sub IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('varel_session.idp_logins', '');
COMMENT ON TABLE varel_session.idp_logins IS
    'the identity provider''s iss, sid and sub of sessions logged in through OpenID Connect, for back-channel logout; reachable only through the varel_session functions';

-- The authentication context of a log-in (src/auth_context.rs): when, at what assurance level,
-- by which methods. Added at the end of the table and of session_row, where a fresh install
-- has them too.
ALTER TABLE varel_session.sessions
    ADD COLUMN authenticated_at timestamptz,
    ADD COLUMN aal smallint,
    ADD COLUMN amr text[];
COMMENT ON COLUMN varel_session.sessions.authenticated_at IS
    'when the user last logged in or re-authenticated; NULL without a user';
COMMENT ON COLUMN varel_session.sessions.aal IS
    'the assurance level (NIST SP 800-63B-4, 1 to 3) of that authentication';
COMMENT ON COLUMN varel_session.sessions.amr IS
    'the authentication methods of that authentication (RFC 8176 names, such as pwd, otp, hwk)';
ALTER TYPE varel_session.session_row
    ADD ATTRIBUTE authenticated_at timestamptz,
    ADD ATTRIBUTE aal smallint,
    ADD ATTRIBUTE amr text[];

-- session_set_user gains aal and amr (calls without them still work). The new signature is a
-- new function, without the old one's grants: docs/upgrading.md has the update and the grant
-- run in one transaction, so that an application's log-ins keep working through it.
DROP FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text);
CREATE FUNCTION varel_session.session_set_user(
    id text,
    user_id bigint,
    max_age interval DEFAULT NULL,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL,
    aal smallint DEFAULT NULL,
    amr text[] DEFAULT NULL
) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_user';
COMMENT ON FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text, smallint, text[]) IS
    'log in: sets the user, rotates the token (returned), records the log-in''s time, assurance level (1 unless given) and methods, restarts the absolute deadline; optionally a new idle lifetime ("remember me") and the client''s ip and user agent';

-- Re-authentication (step-up, or before a sensitive operation), and the check a sensitive
-- operation makes: the authentication context a log-in records (src/auth_context.rs).
CREATE FUNCTION varel_session.session_reauthenticate(
    id text,
    aal smallint DEFAULT NULL,
    amr text[] DEFAULT NULL
) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_reauthenticate';
COMMENT ON FUNCTION varel_session.session_reauthenticate(text, smallint, text[]) IS
    'the user authenticated again: rotates the token (returned), records the time and the level and methods when given, restarts both deadlines; NULL when not live';

CREATE FUNCTION varel_session.session_auth_recent(
    id text,
    within interval,
    min_aal smallint DEFAULT 1
) RETURNS boolean
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'varel_session_auth_recent';
COMMENT ON FUNCTION varel_session.session_auth_recent(text, interval, smallint) IS
    'whether the live session''s user authenticated within the interval at min_aal or above: may this request do a sensitive operation';

-- Moving from another store without logging anyone out, and leaving again (docs/moving.md).
--
-- An import copies the live sessions of the old store (django_session, connect-pg-simple's
-- session table, ...) into varel_session.imported_sessions (sql/schema.sql), keyed by a hash of
-- the old id. The adapters' import commands decode each old store's format and call
-- session_import; they run against the live database while the old store keeps serving, and
-- may run again (a re-run refreshes what changed and session_import_prune ends what the old
-- store no longer holds). Once the application uses varel_session, the first request that
-- presents an old cookie calls session_claim, which turns the imported session into a session
-- under a new token in one call: the old id is dead from then on. Requests with tokens of
-- varel_session's own never touch the imported sessions.
--
-- Importing, pruning and exporting are the operator's: they are SECURITY INVOKER and need the
-- table privileges only the extension's owner has, so an application role granted every
-- function in varel_session still cannot run them (it gets "permission denied"). Claiming is
-- the application's, SECURITY DEFINER with a pinned search_path like every function here.

-- The stored form of an old store's id. The prefix keeps it apart from the stored forms of
-- tokens and framework ids; the store's name keeps two stores' ids apart.
CREATE FUNCTION varel_session_internal.imported_id_hash(store text, old_id text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.sha256(pg_catalog.convert_to(
        'varel_session imported id:' || $1 || ':' || $2, 'UTF8'))
$$;
COMMENT ON FUNCTION varel_session_internal.imported_id_hash(text, text) IS
    'internal: the stored form of an old store''s session id (SHA-256 of a prefix, the store''s name and the id)';

-- A store's name is chosen by the import command ("django", "connect-pg-simple"): a mistake in
-- it is the programmer's, and an ERROR.
CREATE FUNCTION varel_session_internal.check_store_name(store text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'store must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF $1 !~ '^[a-z][a-z0-9_-]{0,39}$' THEN
        RAISE EXCEPTION 'store must be 1 to 40 characters of a-z, 0-9, - and _, starting with a letter'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION varel_session_internal.check_store_name(text) IS
    'internal: raises 22023 (22004 for NULL) unless store is a valid store name';

CREATE FUNCTION varel_session.session_import(
    store text,
    old_id text,
    data jsonb,
    expires_at timestamptz,
    user_id bigint DEFAULT NULL,
    accept_until timestamptz DEFAULT NULL,
    max_age interval DEFAULT NULL,
    created_at timestamptz DEFAULT NULL
) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored boolean;
BEGIN
    PERFORM varel_session_internal.check_store_name($1);
    IF $2 IS NULL OR $3 IS NULL OR $4 IS NULL THEN
        RAISE EXCEPTION 'old_id, data and expires_at must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.length($2) NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'old_id must be 1 to 1024 characters' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.jsonb_typeof($3) <> 'object' THEN
        RAISE EXCEPTION 'data must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $7 <= '0'::pg_catalog.interval THEN
        RAISE EXCEPTION 'max_age must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- An old session that has expired, or whose deadline has passed, is not worth a row.
    IF LEAST($4, coalesce($6, $4)) <= pg_catalog.now() THEN
        RETURN false;
    END IF;
    -- An ended row stays ended, so a claimed or logged-out old id never works again, and it
    -- stays as long as the old store may hold the id: cleanup removes it only after that.
    UPDATE varel_session.imported_sessions AS i
    SET expires_at = GREATEST(i.expires_at, $4)
    WHERE i.id_hash = varel_session_internal.imported_id_hash($1, $2) AND i.ended_at IS NOT NULL;
    IF FOUND THEN
        RETURN false;
    END IF;
    -- A re-run refreshes a waiting row (the old store kept serving it).
    INSERT INTO varel_session.imported_sessions AS i
        (id_hash, user_id, created_at, expires_at, accept_until, imported_at, max_age, store, data)
    VALUES (varel_session_internal.imported_id_hash($1, $2), $5, $8, $4,
            LEAST($4, coalesce($6, $4)), pg_catalog.statement_timestamp(), $7, $1, $3)
    ON CONFLICT (id_hash) DO UPDATE
        SET user_id = excluded.user_id, created_at = excluded.created_at,
            expires_at = excluded.expires_at, accept_until = excluded.accept_until,
            imported_at = excluded.imported_at, max_age = excluded.max_age, data = excluded.data
        WHERE i.ended_at IS NULL
    RETURNING true INTO stored;
    RETURN coalesce(stored, false);
END
$$;
COMMENT ON FUNCTION varel_session.session_import(text, text, jsonb, timestamptz, bigint, timestamptz, interval, timestamptz) IS
    'for import commands (the extension''s owner): stores a session of another store under a hash of its old id until a request claims it; false when it has expired or its old id was claimed already';

CREATE FUNCTION varel_session.session_import_prune(store text, imported_before timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ended bigint;
BEGIN
    PERFORM varel_session_internal.check_store_name($1);
    IF $2 IS NULL THEN
        RAISE EXCEPTION 'imported_before must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE varel_session.imported_sessions AS i
    SET ended_at = pg_catalog.now(), data = '{}'::pg_catalog.jsonb
    WHERE i.store = $1 AND i.ended_at IS NULL AND i.imported_at < $2;
    GET DIAGNOSTICS ended = ROW_COUNT;
    RETURN ended;
END
$$;
COMMENT ON FUNCTION varel_session.session_import_prune(text, timestamptz) IS
    'for import commands (the extension''s owner): ends the waiting imported sessions of a store that a run starting at imported_before did not import again (the old store ended them); returns how many';

CREATE FUNCTION varel_session.session_claim(store text, old_id text, ip inet DEFAULT NULL,
                                            user_agent text DEFAULT NULL, new_id text DEFAULT NULL)
    RETURNS TABLE (
        id text,
        data jsonb,
        user_id bigint,
        created_at timestamptz,
        updated_at timestamptz,
        expires_at timestamptz,
        absolute_expires_at timestamptz
    )
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted bytea;
    owner bigint;
    claimed record;
    token text;
BEGIN
    PERFORM varel_session_internal.check_store_name($1);
    -- An old cookie is untrusted input: anything that cannot be an imported id is no session.
    IF $2 IS NULL OR pg_catalog.length($2) NOT BETWEEN 1 AND 1024 THEN
        RETURN;
    END IF;
    wanted := varel_session_internal.imported_id_hash($1, $2);
    -- The user's lock comes before the row's, as in session_user_revoke, so that a claim and a
    -- "log out everywhere" of the same user cannot deadlock: the revoke either ends the row
    -- first (no session) or ends the new session after the claim.
    SELECT i.user_id INTO owner FROM varel_session.imported_sessions AS i
    WHERE i.id_hash = wanted AND i.ended_at IS NULL AND i.accept_until > pg_catalog.now();
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF owner IS NOT NULL THEN
        PERFORM varel_session_internal.lock_user(owner);
    END IF;
    -- Of two requests with the same old cookie, the second waits here for the first and then
    -- finds the row ended: one session, as for a racing session_regenerate.
    SELECT i.data, i.user_id, i.max_age INTO claimed FROM varel_session.imported_sessions AS i
    WHERE i.id_hash = wanted AND i.ended_at IS NULL AND i.accept_until > pg_catalog.now()
    FOR UPDATE;
    IF NOT FOUND OR claimed.user_id IS DISTINCT FROM owner THEN
        -- Ended meanwhile, or a re-run of the import gave it another user: no session this
        -- time (the next request with the cookie tries again under the right lock).
        RETURN;
    END IF;
    UPDATE varel_session.imported_sessions AS i
    SET ended_at = pg_catalog.now(), data = '{}'::pg_catalog.jsonb
    WHERE i.id_hash = wanted;
    BEGIN
        IF $5 IS NULL THEN
            token := varel_session.session_new(max_age => claimed.max_age, user_id => claimed.user_id,
                                               data => claimed.data, ip => $3, user_agent => $4);
        ELSE
            -- A framework that mints its ids (scs, tower-sessions) names the new one itself;
            -- like session_adopt's, it must be fresh from a CSPRNG, never one a request
            -- presented.
            IF NOT varel_session.session_adopt($5, max_age => claimed.max_age,
                                               user_id => claimed.user_id, data => claimed.data,
                                               ip => $3, user_agent => $4) THEN
                RAISE EXCEPTION 'new_id names a stored session already'
                    USING ERRCODE = 'unique_violation';
            END IF;
            token := $5;
        END IF;
    EXCEPTION WHEN program_limit_exceeded THEN
        -- Data larger than varel_session.max_data_bytes (the import does not know this
        -- server's setting): the old id stays ended and the request has no session, rather
        -- than an error on every request that presents the cookie.
        RETURN;
    END;
    RETURN QUERY
        SELECT token, s.data, s.user_id, s.created_at, s.updated_at, s.expires_at,
               s.absolute_expires_at
        FROM varel_session.session_get(token) AS s;
END
$$;
COMMENT ON FUNCTION varel_session.session_claim(text, text, inet, text, text) IS
    'the first request that presents an imported old id: its session under a new token, or under new_id (a framework id the caller minted); the old id is dead from then on; or no row';

CREATE FUNCTION varel_session.session_export()
    RETURNS TABLE (
        handle text,
        user_id bigint,
        data jsonb,
        created_at timestamptz,
        updated_at timestamptz,
        expires_at timestamptz,
        absolute_expires_at timestamptz,
        max_age interval
    )
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- Sealed data (varel_session.seal_data, always a JSON string where open data is an
    -- object) opens only with its session's token, which no export has: such a session is
    -- exported with its user and deadlines and empty data.
    SELECT pg_catalog.lpad(pg_catalog.to_hex(s.handle), 16, '0'), s.user_id,
           CASE WHEN pg_catalog.jsonb_typeof(s.data) OPERATOR(pg_catalog.=) 'object' THEN s.data
                ELSE '{}'::pg_catalog.jsonb END,
           s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at, s.max_age
    FROM varel_session.sessions AS s
    WHERE varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
$$;
COMMENT ON FUNCTION varel_session.session_export() IS
    'for export commands (the extension''s owner): every live session''s data (empty when sealed), user and deadlines, named by handle (never by token)';

CREATE FUNCTION varel_session.session_import_status()
    RETURNS TABLE (store text, waiting bigint, ended bigint, accept_until timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.store,
           count(*) FILTER (WHERE i.ended_at IS NULL AND i.accept_until > pg_catalog.now()),
           count(*) FILTER (WHERE i.ended_at IS NOT NULL),
           max(i.accept_until)
    FROM varel_session.imported_sessions AS i
    GROUP BY i.store
    ORDER BY i.store
$$;
COMMENT ON FUNCTION varel_session.session_import_status() IS
    'for operators (the extension''s owner): per old store, how many imported sessions still wait for their first request, how many were claimed or ended, and the last deadline';

-- Records a finished run for session_stats() and announces it (one event per run). It also
-- removes what imports left behind (sql/import.sql): waiting imported sessions whose deadline
-- has passed, and ended ones once the old store's expiry has passed too (until then the row
-- keeps a re-run of the import from bringing a claimed old id back). And the identity
-- providers' records (sql/idp.sql) of sessions that have ended. Few rows, looked at once per
-- run.
CREATE OR REPLACE FUNCTION varel_session_internal.cleanup_finished(removed bigint) RETURNS void
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM varel_session.imported_sessions AS i
    WHERE CASE WHEN i.ended_at IS NULL THEN i.accept_until ELSE i.expires_at END <= pg_catalog.now();
    DELETE FROM varel_session.idp_logins AS l
    WHERE NOT EXISTS (SELECT FROM varel_session.sessions AS s
                      WHERE s.user_id = l.user_id AND s.handle = l.handle);
    UPDATE varel_session.cleanup_log SET finished_at = pg_catalog.now(), removed = $1;
    SELECT varel_session_internal.notify_event('cleanup', NULL, NULL, $1);
$$;
COMMENT ON FUNCTION varel_session_internal.cleanup_finished(bigint) IS
    'internal: records when cleanup finished and how many sessions it removed, removes imported sessions past their deadline and the identity providers'' records of ended sessions, and announces it';

-- "Log out everywhere" ends the user's imported sessions too.
CREATE OR REPLACE FUNCTION varel_session.session_user_revoke(user_id bigint, except_id text DEFAULT NULL)
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

-- Administration across all users: ending every session at once ("everyone out", after a
-- breach or a change of the signing keys) and a listing of the live sessions (docs/sql-api.md,
-- "Administration").
--
-- These are the operator's, like imports (sql/import.sql): SECURITY INVOKER, needing the table
-- privileges only the extension's owner has, so an application role granted every function in
-- varel_session still cannot run them ("permission denied"). Nothing here returns a token or
-- its hash: sessions are named by their handle.
--
-- Ending every session deletes rows, so it takes row locks only: requests go on, and one that
-- wants a session being ended waits for the delete and then finds no session. It never takes a
-- lock on the whole table (TRUNCATE would, and would block every request until it commits).

-- The imported sessions not claimed yet, ended first: a claim that would otherwise turn one
-- into a new session while the sessions are being ended waits for this (the claim locks its
-- row) and then finds it ended; one that committed before has its session among those ended
-- next.
CREATE FUNCTION varel_session_internal.revoke_all_imports() RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH imported AS (
        UPDATE varel_session.imported_sessions AS i
        SET ended_at = pg_catalog.now(), data = '{}'::pg_catalog.jsonb
        WHERE i.ended_at IS NULL
        RETURNING i.accept_until > pg_catalog.now() AS was_live
    )
    SELECT count(*) FILTER (WHERE imported.was_live) FROM imported
$$;
COMMENT ON FUNCTION varel_session_internal.revoke_all_imports() IS
    'internal: ends every imported session not claimed yet; returns how many could still have been claimed';

-- The sessions created up to `started` and still stored, in one statement. One statement
-- matters: a session rotated (its row updated) while the statement runs is followed to its
-- new row version and ended too, wherever that version was stored. One event for all.
CREATE FUNCTION varel_session_internal.revoke_all_rest(started timestamptz, ended_before bigint)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ended bigint;
BEGIN
    WITH gone AS (
        DELETE FROM varel_session.sessions AS s
        WHERE s.created_at <= $1
        RETURNING varel_session_internal.is_live(s.expires_at, s.absolute_expires_at) AS was_live
    )
    SELECT count(*) FILTER (WHERE gone.was_live) INTO ended FROM gone;
    ended := ended + $2;
    -- A revoked event with no handle and no user: every session ended, how many in removed.
    PERFORM varel_session_internal.notify_event('revoked', NULL, NULL, ended);
    RETURN ended;
END
$$;
COMMENT ON FUNCTION varel_session_internal.revoke_all_rest(timestamptz, bigint) IS
    'internal: ends every session created up to started and announces one revoked event for all; returns how many live ones ended, plus ended_before';

-- One batch of session_revoke_all_run: the sessions created up to `started` stored in blocks
-- [first_block, first_block + blocks). A session whose row moves to a block already done (it
-- was rotated meanwhile) is left for revoke_all_rest.
CREATE FUNCTION varel_session_internal.revoke_all_blocks(first_block bigint, blocks integer,
                                                         started timestamptz) RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM varel_session.sessions AS s
        WHERE s.ctid >= pg_catalog.format('(%s,0)', $1)::pg_catalog.tid
          AND s.ctid < pg_catalog.format('(%s,0)', $1 + $2)::pg_catalog.tid
          AND s.created_at <= $3
        RETURNING varel_session_internal.is_live(s.expires_at, s.absolute_expires_at) AS was_live
    )
    SELECT count(*) FILTER (WHERE gone.was_live) FROM gone
$$;
COMMENT ON FUNCTION varel_session_internal.revoke_all_blocks(bigint, integer, timestamptz) IS
    'internal: deletes the sessions created up to started stored in a range of blocks; returns how many were live';

CREATE FUNCTION varel_session.session_revoke_all() RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    imports bigint;
BEGIN
    imports := varel_session_internal.revoke_all_imports();
    -- The clock, not the transaction's start: a claim that committed before the imports were
    -- ended created its session after this transaction began.
    RETURN varel_session_internal.revoke_all_rest(pg_catalog.clock_timestamp(), imports);
END
$$;
COMMENT ON FUNCTION varel_session.session_revoke_all() IS
    'for operators (the extension''s owner): ends every session and every imported session not claimed yet, in one statement that locks rows, never the table; returns how many live ones ended';

-- The same for a table of millions of sessions, committing after every batch, so that no
-- transaction holds millions of row locks or holds back vacuum. Sessions created after the
-- imports were ended (log-ins during the run) are kept; every older session is gone when it
-- returns. Like session_cleanup_run it cannot be SECURITY DEFINER or carry SET options
-- (PostgreSQL refuses COMMIT then), and it is no more than that: it runs with its caller's
-- rights, names everything schema-qualified, and calls the functions above.
-- pgspot-allow: proc-without-search-path varel_session.session_revoke_all_run(batch_size integer,pause interval,INOUT ended bigint)
CREATE PROCEDURE varel_session.session_revoke_all_run(
    batch_size integer DEFAULT 10000,
    pause interval DEFAULT '0',
    INOUT ended bigint DEFAULT NULL
)
    LANGUAGE plpgsql
AS $$
DECLARE
    plan record;
    next_block bigint := 0;
    started timestamptz;
BEGIN
    plan := varel_session_internal.cleanup_plan(batch_size);
    -- The imports first, committed, so that no claim creates a session during the run.
    ended := varel_session_internal.revoke_all_imports();
    COMMIT;
    started := pg_catalog.clock_timestamp();
    WHILE next_block OPERATOR(pg_catalog.<) plan.block_count LOOP
        ended := ended OPERATOR(pg_catalog.+)
            varel_session_internal.revoke_all_blocks(next_block, plan.blocks_per_batch, started);
        next_block := next_block OPERATOR(pg_catalog.+) plan.blocks_per_batch;
        COMMIT;
        IF pause OPERATOR(pg_catalog.>) '0'::pg_catalog.interval THEN
            PERFORM pg_catalog.pg_sleep(pg_catalog.date_part('epoch', pause));
        END IF;
    END LOOP;
    ended := varel_session_internal.revoke_all_rest(started, ended);
END
$$;
COMMENT ON PROCEDURE varel_session.session_revoke_all_run(integer, interval, bigint) IS
    'for operators: ends every session older than the call, committing after each batch of about batch_size rows; returns how many live ones ended';

-- A page of the live sessions, for an administrator's screen: filtered by user (only_user: the
-- result has a user_id column, and a parameter may not share its name) and by creation time,
-- in handle order, after the handle that ended the previous page (keyset pagination: a page
-- is the same whatever was created or ended since).
CREATE FUNCTION varel_session.session_list(
    only_user bigint DEFAULT NULL,
    created_before timestamptz DEFAULT NULL,
    only_aal smallint DEFAULT NULL,
    after_handle text DEFAULT NULL,
    max_rows integer DEFAULT 100
)
    RETURNS TABLE (
        handle text,
        user_id bigint,
        created_at timestamptz,
        updated_at timestamptz,
        expires_at timestamptz,
        absolute_expires_at timestamptz,
        ip inet,
        user_agent text,
        last_seen_at timestamptz,
        authenticated_at timestamptz,
        aal smallint,
        amr text[]
    )
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 10000 THEN
        RAISE EXCEPTION 'max_rows must be between 1 and 10000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF only_aal IS NOT NULL AND only_aal NOT BETWEEN 1 AND 3 THEN
        RAISE EXCEPTION 'only_aal must be 1, 2 or 3'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF after_handle IS NOT NULL AND after_handle !~ '^[0-9a-f]{16}$' THEN
        RAISE EXCEPTION 'after_handle must be a handle (16 lowercase hex characters)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Handles as 16 hex characters sort in the order of their 64 bits; "C" makes it bytewise.
    RETURN QUERY
    SELECT l.handle, l.user_id, l.created_at, l.updated_at, l.expires_at,
           l.absolute_expires_at, l.ip, l.user_agent, l.last_seen_at, l.authenticated_at,
           l.aal, l.amr
    FROM (
        SELECT pg_catalog.lpad(pg_catalog.to_hex(s.handle), 16, '0') COLLATE "C" AS handle,
               s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at,
               s.ip, s.user_agent, s.last_seen_at, s.authenticated_at, s.aal, s.amr
        FROM varel_session.sessions AS s
        WHERE ($1 IS NULL OR s.user_id = $1)
          AND ($2 IS NULL OR s.created_at < $2)
          AND ($3 IS NULL OR (s.user_id IS NOT NULL AND s.aal = $3))
          AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    ) AS l
    WHERE $4 IS NULL OR l.handle > ($4 COLLATE "C")
    ORDER BY l.handle
    LIMIT $5;
END
$$;
COMMENT ON FUNCTION varel_session.session_list(bigint, timestamptz, smallint, text, integer) IS
    'for operators (the extension''s owner): a page of live sessions (optionally one user''s, created before a time, or logged in at one assurance level), in handle order after after_handle, never showing tokens';

REVOKE ALL ON TABLE varel_session.imported_sessions FROM PUBLIC;
REVOKE ALL ON TABLE varel_session.idp_logins FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.imported_id_hash(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.check_store_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_import(text, text, jsonb, timestamptz, bigint, timestamptz, interval, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_import_prune(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_claim(text, text, inet, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_export() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_import_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.csrf_token_for(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_csrf_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_csrf_verify(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.revoke_all_imports() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.revoke_all_rest(timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.revoke_all_blocks(bigint, integer, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_revoke_all() FROM PUBLIC;
REVOKE ALL ON PROCEDURE varel_session.session_revoke_all_run(integer, interval, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_list(bigint, timestamptz, smallint, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text, smallint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_reauthenticate(text, smallint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_auth_recent(text, interval, smallint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_idp(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_revoke_idp(text, text, text) FROM PUBLIC;
