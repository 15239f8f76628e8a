-- The per-request API of the SQL edition: the same functions as sql/lifecycle.sql (the C
-- edition's), with the same names, arguments, defaults, results and SQLSTATEs, written in SQL
-- and PL/pgSQL.
--
-- Security model: every function here reaches the table, so each is SECURITY DEFINER with a
-- pinned search_path and names every object schema-qualified; PUBLIC may execute none of them
-- (sql/privileges.sql). Each one is one statement on the table in the usual case, so it
-- behaves as the plain SQL an application would write, at the caller's isolation level; the
-- C edition is held to the same behaviour by tests/integration/tests/isolation_matrix.rs.
--
-- Untrusted input: a token that is not 64 hex characters hashes to NULL
-- (varel_session_internal.token_hash) and names no session. Programmer mistakes (a NULL key,
-- a non-positive max_age) are checked first, whatever the token, in the C edition's order.

-- Written out rather than calling varel_session_internal.random_token(): this function is not
-- SECURITY DEFINER (it reaches no table), so it runs with the caller's rights, and the
-- application role may not use the internal schema.
CREATE FUNCTION varel_session.session_generate_id() RETURNS text
    LANGUAGE sql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        OPERATOR(pg_catalog.||) pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        OPERATOR(pg_catalog.||) pg_catalog.uuid_send(pg_catalog.gen_random_uuid())), 'hex')
$$;
COMMENT ON FUNCTION varel_session.session_generate_id() IS
    '32 random bytes from the server''s CSPRNG, as 64 lowercase hex characters';

CREATE FUNCTION varel_session.session_new(
    max_age interval DEFAULT NULL,
    user_id bigint DEFAULT NULL,
    data jsonb DEFAULT '{}'::pg_catalog.jsonb,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL
) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    life interval;
    absolute timestamptz;
    raw bytea;
    new_handle bigint;
BEGIN
    SELECT * INTO p FROM varel_session_internal.policy();
    life := coalesce($1, p.max_age);
    IF $3 IS NULL THEN
        RAISE EXCEPTION 'data must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof($3) <> 'object' THEN
        RAISE EXCEPTION 'data must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_column_size($3) > p.max_data_bytes THEN
        PERFORM varel_session_internal.raise_too_large(pg_column_size($3), p.max_data_bytes);
    END IF;
    IF NOT now() + life > now() THEN
        RAISE EXCEPTION 'max_age must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_new');
    END IF;
    IF $2 IS NOT NULL THEN
        PERFORM varel_session_internal.lock_user_for_login($2);
        PERFORM varel_session_internal.make_room($2, NULL, p.max_sessions_per_user);
    END IF;
    IF p.absolute_timeout > '0'::interval THEN
        absolute := now() + p.absolute_timeout;
    END IF;
    raw := varel_session_internal.random_token();
    new_handle := varel_session_internal.random_handle();
    INSERT INTO varel_session.sessions (handle, user_id, created_at, updated_at, expires_at,
        absolute_expires_at, max_age, token_hash, data, ip, user_agent, last_seen_at)
    VALUES (new_handle, $2, now(), now(), least(now() + life, absolute), absolute, life,
        sha256(raw), $3, $4, $5, now());
    IF p.events THEN
        PERFORM varel_session_internal.notify_event('created', new_handle, $2);
    END IF;
    RETURN encode(raw, 'hex');
END
$$;
COMMENT ON FUNCTION varel_session.session_new(interval, bigint, jsonb, inet, text) IS
    'creates a session and returns its token (shown only this once); NULL max_age means varel_session.max_age';

CREATE FUNCTION varel_session.session_adopt(
    id text,
    max_age interval DEFAULT NULL,
    user_id bigint DEFAULT NULL,
    data jsonb DEFAULT '{}'::pg_catalog.jsonb,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL
) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    hash bytea := varel_session_internal.token_hash($1);
    life interval;
    absolute timestamptz;
    new_handle bigint;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF hash IS NULL THEN
        RAISE EXCEPTION 'id must be a token or a framework id: 22 to 128 characters of A-Z, a-z, 0-9, ''-'', ''_'', '','' and ''.'''
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO p FROM varel_session_internal.policy();
    life := coalesce($2, p.max_age);
    IF $4 IS NULL THEN
        RAISE EXCEPTION 'data must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof($4) <> 'object' THEN
        RAISE EXCEPTION 'data must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_column_size($4) > p.max_data_bytes THEN
        PERFORM varel_session_internal.raise_too_large(pg_column_size($4), p.max_data_bytes);
    END IF;
    IF NOT now() + life > now() THEN
        RAISE EXCEPTION 'max_age must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_adopt');
    END IF;
    IF $3 IS NOT NULL THEN
        PERFORM varel_session_internal.lock_user_for_login($3);
    END IF;
    -- A session stored under this id already (live, or expired and not yet cleaned up): no.
    IF EXISTS (SELECT FROM varel_session.sessions AS s WHERE s.token_hash = hash) THEN
        RETURN false;
    END IF;
    IF $3 IS NOT NULL THEN
        PERFORM varel_session_internal.make_room($3, NULL, p.max_sessions_per_user);
    END IF;
    IF p.absolute_timeout > '0'::interval THEN
        absolute := now() + p.absolute_timeout;
    END IF;
    new_handle := varel_session_internal.random_handle();
    INSERT INTO varel_session.sessions (handle, user_id, created_at, updated_at, expires_at,
        absolute_expires_at, max_age, token_hash, data, ip, user_agent, last_seen_at)
    VALUES (new_handle, $3, now(), now(), least(now() + life, absolute), absolute, life,
        hash, $4, $5, $6, now());
    IF p.events THEN
        PERFORM varel_session_internal.notify_event('created', new_handle, $3);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION varel_session.session_adopt(text, interval, bigint, jsonb, inet, text) IS
    'creates a session under an id a web framework minted (a framework id); false when one with that id is stored already';

CREATE FUNCTION varel_session.session_get(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at,
               s.authenticated_at, s.aal, s.amr
        FROM varel_session.sessions AS s
        WHERE s.token_hash = varel_session_internal.token_hash(id)
          AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
END
$$;
COMMENT ON FUNCTION varel_session.session_get(text) IS
    'the live session, or no row; writes nothing (works on a hot standby)';

CREATE FUNCTION varel_session.session_load(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
    data jsonb;
    user_id bigint;
    created_at timestamptz;
    updated_at timestamptz;
    expires_at timestamptz;
    absolute_expires_at timestamptz;
    authenticated_at timestamptz;
    aal smallint;
    amr text[];
    due timestamptz;
    slid record;
    session varel_session.session_row;
BEGIN
    IF hash IS NULL THEN
        RETURN;
    END IF;
    SELECT s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at,
           s.authenticated_at, s.aal, s.amr,
           varel_session_internal.refresh_due(s.expires_at, s.absolute_expires_at,
                                               varel_session_internal.idle_lifetime(s.max_age, s.aal))
    INTO data, user_id, created_at, updated_at, expires_at, absolute_expires_at,
         authenticated_at, aal, amr, due
    FROM varel_session.sessions AS s
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- The slide is optional: never where it cannot write, never under SERIALIZABLE (it would
    -- join the transaction's dependencies), and skipped, without waiting, when the row is
    -- locked by another transaction or (REPEATABLE READ) changed since the snapshot.
    IF due IS NOT NULL
       AND current_setting('transaction_read_only') = 'off'
       AND current_setting('transaction_isolation') <> 'serializable' THEN
        BEGIN
            UPDATE varel_session.sessions AS s
            SET expires_at = varel_session_internal.refresh_due(s.expires_at, s.absolute_expires_at,
                                               varel_session_internal.idle_lifetime(s.max_age, s.aal)),
                last_seen_at = now()
            WHERE s.ctid = (SELECT t.ctid FROM varel_session.sessions AS t
                            WHERE t.token_hash = hash
                            FOR NO KEY UPDATE SKIP LOCKED)
              AND s.token_hash = hash
              AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
              AND varel_session_internal.refresh_due(s.expires_at, s.absolute_expires_at,
                                               varel_session_internal.idle_lifetime(s.max_age, s.aal)) IS NOT NULL
            RETURNING s.data, s.user_id, s.created_at, s.updated_at, s.expires_at,
                      s.absolute_expires_at, s.authenticated_at, s.aal, s.amr
            INTO slid;
            IF FOUND THEN
                -- The newest version, as the slide wrote it.
                session := ROW(slid.data, slid.user_id, slid.created_at, slid.updated_at,
                               slid.expires_at, slid.absolute_expires_at,
                               slid.authenticated_at, slid.aal, slid.amr);
                RETURN NEXT session;
                RETURN;
            END IF;
        EXCEPTION WHEN serialization_failure OR lock_not_available THEN
            NULL;
        END;
    END IF;
    session := ROW(data, user_id, created_at, updated_at, expires_at, absolute_expires_at,
                   authenticated_at, aal, amr);
    RETURN NEXT session;
END
$$;
COMMENT ON FUNCTION varel_session.session_load(text) IS
    'once per request: the live session, sliding its idle deadline when less than 80% of max_age is left';

CREATE FUNCTION varel_session.session_get(id text, key text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN (SELECT s.data ->> key
            FROM varel_session.sessions AS s
            WHERE s.token_hash = varel_session_internal.token_hash(id)
              AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at));
END
$$;
COMMENT ON FUNCTION varel_session.session_get(text, text) IS
    'data ->> key of the live session, or NULL';

-- Every data write: new data computed from the row's newest version in one UPDATE (so a
-- concurrent write of another key is kept), checked against the limit, skipped when nothing
-- changes. True when there is a live session.
CREATE FUNCTION varel_session_internal.write_data(function_name text, id text, patch jsonb,
                                                  removed text[], replace boolean,
                                                  max_bytes integer)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
    new_size integer;
BEGIN
    IF hash IS NULL THEN
        RETURN false;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only(function_name);
    END IF;
    UPDATE varel_session.sessions AS s
    SET data = CASE WHEN replace THEN patch ELSE (s.data - removed) || patch END,
        updated_at = now(),
        last_seen_at = now()
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
      AND NOT varel_session_internal.same_data(s.data,
            CASE WHEN replace THEN patch ELSE (s.data - removed) || patch END)
    RETURNING pg_column_size(s.data) INTO new_size;
    IF FOUND THEN
        -- Over the limit: the error rolls the update back with the statement.
        IF new_size > max_bytes THEN
            PERFORM varel_session_internal.raise_too_large(new_size, max_bytes);
        END IF;
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT FROM varel_session.sessions AS s
                   WHERE s.token_hash = hash
                     AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at));
END
$$;

CREATE FUNCTION varel_session.session_set(id text, key text, value text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_bytes integer;
    hash bytea;
    new_size integer;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF value IS NULL THEN
        RAISE EXCEPTION 'value must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    max_bytes := (SELECT m FROM varel_session_internal.max_data_bytes() AS m);
    IF octet_length(key) + octet_length(value) > max_bytes THEN
        PERFORM varel_session_internal.raise_too_large(octet_length(key) + octet_length(value), max_bytes);
    END IF;
    -- write_data's body, written out: this is the most frequent write.
    hash := varel_session_internal.token_hash(id);
    IF hash IS NULL THEN
        RETURN false;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_set');
    END IF;
    UPDATE varel_session.sessions AS s
    SET data = s.data || jsonb_build_object(key, value),
        updated_at = now(),
        last_seen_at = now()
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
      AND NOT varel_session_internal.same_data(s.data, s.data || jsonb_build_object(key, value))
    RETURNING pg_column_size(s.data) INTO new_size;
    IF FOUND THEN
        IF new_size > max_bytes THEN
            PERFORM varel_session_internal.raise_too_large(new_size, max_bytes);
        END IF;
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT FROM varel_session.sessions AS s
                   WHERE s.token_hash = hash
                     AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at));
END
$$;
COMMENT ON FUNCTION varel_session.session_set(text, text, text) IS
    'sets one key to a JSON string, atomically; false when there is no live session';

CREATE FUNCTION varel_session.session_set(id text, patch jsonb) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_bytes integer;
    nulls text[];
BEGIN
    IF patch IS NULL THEN
        RAISE EXCEPTION 'patch must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(patch) <> 'object' THEN
        RAISE EXCEPTION 'patch must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    max_bytes := (SELECT m FROM varel_session_internal.max_data_bytes() AS m);
    IF pg_column_size(patch) > max_bytes THEN
        PERFORM varel_session_internal.raise_too_large(pg_column_size(patch), max_bytes);
    END IF;
    -- JSON null removes a key; every other key is set.
    nulls := ARRAY(SELECT e.key FROM jsonb_each(patch) AS e WHERE jsonb_typeof(e.value) = 'null');
    RETURN varel_session_internal.write_data('session_set', id, patch - nulls, nulls, false,
                                             max_bytes);
END
$$;
COMMENT ON FUNCTION varel_session.session_set(text, jsonb) IS
    'top-level merge patch: keys set, JSON null removes a key, other keys kept; false when there is no live session';

CREATE FUNCTION varel_session.session_unset(id text, key text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN varel_session_internal.write_data('session_unset', id, '{}', ARRAY[key], false,
                                             (SELECT m FROM varel_session_internal.max_data_bytes() AS m));
END
$$;
COMMENT ON FUNCTION varel_session.session_unset(text, text) IS
    'removes one key; false when there is no live session';

CREATE FUNCTION varel_session.session_clear(id text) RETURNS boolean
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT varel_session_internal.write_data('session_clear', $1, '{}', NULL, true,
                                             (SELECT m FROM varel_session_internal.max_data_bytes() AS m))
$$;
COMMENT ON FUNCTION varel_session.session_clear(text) IS
    'empties the data; false when there is no live session';

CREATE FUNCTION varel_session.session_set_data(id text, data jsonb) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_bytes integer := (SELECT m FROM varel_session_internal.max_data_bytes() AS m);
BEGIN
    IF data IS NULL THEN
        RAISE EXCEPTION 'data must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof(data) <> 'object' THEN
        RAISE EXCEPTION 'data must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_column_size(data) > max_bytes THEN
        PERFORM varel_session_internal.raise_too_large(pg_column_size(data), max_bytes);
    END IF;
    RETURN varel_session_internal.write_data('session_set_data', id, data, NULL, true, max_bytes);
END
$$;
COMMENT ON FUNCTION varel_session.session_set_data(text, jsonb) IS
    'replaces all of the session''s data; false when there is no live session';

CREATE FUNCTION varel_session.session_touch(id text) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
    deadline timestamptz;
BEGIN
    IF hash IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_touch');
    END IF;
    UPDATE varel_session.sessions AS s
    SET expires_at = varel_session_internal.idle_deadline(
        varel_session_internal.idle_lifetime(s.max_age, s.aal), s.absolute_expires_at),
        last_seen_at = now()
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
      AND varel_session_internal.idle_deadline(
        varel_session_internal.idle_lifetime(s.max_age, s.aal), s.absolute_expires_at) <> s.expires_at
    RETURNING s.expires_at INTO deadline;
    IF FOUND THEN
        RETURN deadline;
    END IF;
    RETURN (SELECT s.expires_at FROM varel_session.sessions AS s
            WHERE s.token_hash = hash
              AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at));
END
$$;
COMMENT ON FUNCTION varel_session.session_touch(text) IS
    'slides the idle deadline now (no throttle); the new expires_at, or NULL';

CREATE FUNCTION varel_session.session_set_max_age(id text, max_age interval) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea;
    deadline timestamptz;
    p record;
BEGIN
    IF max_age IS NULL THEN
        RAISE EXCEPTION 'max_age must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT now() + max_age > now() THEN
        RAISE EXCEPTION 'max_age must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    hash := varel_session_internal.token_hash(id);
    IF hash IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_set_max_age');
    END IF;
    SELECT * INTO p FROM varel_session_internal.policy();
    -- Never longer than the session's assurance level allows (aal_timeouts).
    UPDATE varel_session.sessions AS s
    SET max_age = $2,
        expires_at = varel_session_internal.idle_deadline(
            varel_session_internal.within_idle_limit($2, s.aal, p.aal_timeouts),
            s.absolute_expires_at),
        last_seen_at = now()
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    RETURNING s.expires_at INTO deadline;
    RETURN deadline;
END
$$;
COMMENT ON FUNCTION varel_session.session_set_max_age(text, interval) IS
    'changes the session''s idle lifetime and slides its idle deadline to now() + max_age (never past the absolute deadline); the new expires_at, or NULL';

CREATE FUNCTION varel_session.session_destroy(id text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
    ended record;
BEGIN
    IF hash IS NULL THEN
        RETURN false;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_destroy');
    END IF;
    DELETE FROM varel_session.sessions AS s
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    RETURNING s.handle, s.user_id INTO ended;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF (SELECT e FROM varel_session_internal.events_on() AS e) THEN
        PERFORM varel_session_internal.notify_event('destroyed', ended.handle, ended.user_id);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION varel_session.session_destroy(text) IS
    'deletes the live session; true if there was one';

-- Rotation: a new token in the same UPDATE that makes the old one stop working, so of
-- concurrent rotations of one token exactly one succeeds (the others re-check the token on
-- the newest row version and find another).
CREATE FUNCTION varel_session.session_regenerate(id text) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
    raw bytea;
    rotated record;
BEGIN
    IF hash IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_regenerate');
    END IF;
    raw := varel_session_internal.random_token();
    UPDATE varel_session.sessions AS s
    SET token_hash = sha256(raw), last_seen_at = now()
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    RETURNING s.handle, s.user_id INTO rotated;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF (SELECT e FROM varel_session_internal.events_on() AS e) THEN
        PERFORM varel_session_internal.notify_event('rotated', rotated.handle, rotated.user_id);
    END IF;
    RETURN encode(raw, 'hex');
END
$$;
COMMENT ON FUNCTION varel_session.session_regenerate(text) IS
    'same session, new token (returned); the old token stops working; NULL when not live';

CREATE FUNCTION varel_session.session_set_user(
    id text,
    user_id bigint,
    max_age interval DEFAULT NULL,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL,
    aal smallint DEFAULT NULL,
    amr text[] DEFAULT NULL
) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea;
    p record;
    raw bytea;
    rotated record;
BEGIN
    IF $2 IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT now() + $3 > now() THEN
        RAISE EXCEPTION 'max_age must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM varel_session_internal.check_auth_context($6, $7);
    hash := varel_session_internal.token_hash(id);
    IF hash IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_set_user');
    END IF;
    SELECT * INTO p FROM varel_session_internal.policy();
    PERFORM varel_session_internal.lock_user_for_login($2);
    raw := varel_session_internal.random_token();
    UPDATE varel_session.sessions AS s
    SET token_hash = sha256(raw),
        user_id = $2,
        updated_at = CASE WHEN s.user_id IS DISTINCT FROM $2 THEN now() ELSE s.updated_at END,
        ip = CASE WHEN $4 IS NULL AND $5 IS NULL THEN s.ip ELSE $4 END,
        user_agent = CASE WHEN $4 IS NULL AND $5 IS NULL THEN s.user_agent ELSE $5 END,
        last_seen_at = now(),
        authenticated_at = now(),
        aal = coalesce($6, 1),
        amr = $7,
        -- A sub-SELECT of the row's own columns, so that an update that follows a concurrent
        -- one computes from the newest version.
        (max_age, absolute_expires_at, expires_at) =
            (SELECT d.max_age, d.absolute_expires_at, d.expires_at
             FROM varel_session_internal.log_in_deadlines(coalesce($6, 1::smallint),
                                                          coalesce($3, s.max_age),
                                                          p.absolute_timeout,
                                                          p.aal_timeouts) AS d)
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    RETURNING s.handle INTO rotated;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- Room under the cap only once the rotation succeeded: a log-in that returns NULL has
    -- ended no other session.
    PERFORM varel_session_internal.make_room($2, rotated.handle, p.max_sessions_per_user);
    IF p.events THEN
        PERFORM varel_session_internal.notify_event('logged_in', rotated.handle, $2);
    END IF;
    RETURN encode(raw, 'hex');
END
$$;
COMMENT ON FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text, smallint, text[]) IS
    'log in: sets the user, rotates the token (returned), records the log-in''s time, assurance level (1 unless given) and methods, restarts the absolute deadline; optionally a new idle lifetime ("remember me") and the client''s ip and user agent';

-- Re-authentication and the check a sensitive operation makes (src/auth_context.rs).
CREATE FUNCTION varel_session.session_reauthenticate(
    id text,
    aal smallint DEFAULT NULL,
    amr text[] DEFAULT NULL
) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea;
    p record;
    raw bytea;
    rotated record;
BEGIN
    PERFORM varel_session_internal.check_auth_context($2, $3);
    hash := varel_session_internal.token_hash(id);
    IF hash IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_reauthenticate');
    END IF;
    SELECT * INTO p FROM varel_session_internal.policy();
    raw := varel_session_internal.random_token();
    UPDATE varel_session.sessions AS s
    SET token_hash = sha256(raw),
        last_seen_at = now(),
        authenticated_at = now(),
        aal = coalesce($2, s.aal, 1),
        amr = coalesce($3, s.amr),
        (max_age, absolute_expires_at, expires_at) =
            (SELECT d.max_age, d.absolute_expires_at, d.expires_at
             FROM varel_session_internal.log_in_deadlines(coalesce($2, s.aal, 1::smallint),
                                                          s.max_age, p.absolute_timeout,
                                                          p.aal_timeouts) AS d)
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    RETURNING s.handle, s.user_id INTO rotated;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- After the update, on the version it wrote: raising rolls the rotation back.
    IF rotated.user_id IS NULL THEN
        RAISE EXCEPTION 'session_reauthenticate needs a session with a user'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'log the session in with session_set_user';
    END IF;
    IF p.events THEN
        PERFORM varel_session_internal.notify_event('rotated', rotated.handle, rotated.user_id);
    END IF;
    RETURN encode(raw, 'hex');
END
$$;
COMMENT ON FUNCTION varel_session.session_reauthenticate(text, smallint, text[]) IS
    'the user authenticated again: rotates the token (returned), records the time and the level and methods when given, restarts both deadlines; NULL when not live';

CREATE FUNCTION varel_session.session_auth_recent(
    id text,
    within interval,
    min_aal smallint DEFAULT 1
) RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF within IS NULL THEN
        RAISE EXCEPTION 'within must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT now() + within > now() THEN
        RAISE EXCEPTION 'within must be a positive interval' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_aal IS NULL THEN
        RAISE EXCEPTION 'min_aal must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM varel_session_internal.check_auth_context(min_aal, NULL);
    RETURN coalesce((
        SELECT s.user_id IS NOT NULL AND s.authenticated_at + within >= now()
               AND s.aal >= min_aal
        FROM varel_session.sessions AS s
        WHERE s.token_hash = varel_session_internal.token_hash(id)
          AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)), false);
END
$$;
COMMENT ON FUNCTION varel_session.session_auth_recent(text, interval, smallint) IS
    'whether the live session''s user authenticated within the interval at min_aal or above: may this request do a sensitive operation';

CREATE FUNCTION varel_session.session_clear_user(id text) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
    raw bytea;
    rotated record;
BEGIN
    IF hash IS NULL THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only('session_clear_user');
    END IF;
    raw := varel_session_internal.random_token();
    UPDATE varel_session.sessions AS s
    SET token_hash = sha256(raw),
        user_id = NULL,
        updated_at = CASE WHEN s.user_id IS NOT NULL THEN now() ELSE s.updated_at END,
        last_seen_at = now(),
        authenticated_at = NULL,
        aal = NULL,
        amr = NULL
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    RETURNING s.handle INTO rotated;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF (SELECT e FROM varel_session_internal.events_on() AS e) THEN
        PERFORM varel_session_internal.notify_event('logged_out', rotated.handle, NULL);
    END IF;
    RETURN encode(raw, 'hex');
END
$$;
COMMENT ON FUNCTION varel_session.session_clear_user(text) IS
    'log out but keep the session: clears the user and rotates the token (returned)';
