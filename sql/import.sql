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
