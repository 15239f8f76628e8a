-- A plain-SQL model of the per-request API, for differential tests: the same contract written
-- the way an application would write it against its own table (`UPDATE ... WHERE token_hash =
-- ... RETURNING`), so the extension's direct table access can be compared with what the
-- executor does. Rotations take the new token as an argument (the extension's, in tests that
-- run both side by side), so both tables hold the same keys. The per-user cap is not modelled.
CREATE SCHEMA model;
CREATE TABLE model.sessions (LIKE varel_session.sessions INCLUDING DEFAULTS, PRIMARY KEY (token_hash));

CREATE FUNCTION model.h(tok text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN tok ~ '^[0-9a-fA-F]{64}$' THEN sha256(decode(tok, 'hex')) END
$$;

-- varel_session.absolute_timeout is in seconds (a plain duration, not calendar days). The SQL
-- edition keeps it in varel_session.settings instead (there is no such setting without the
-- library).
CREATE FUNCTION model.absolute_deadline() RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    seconds float8;
BEGIN
    SELECT s.setting::float8 INTO seconds
    FROM pg_settings s WHERE s.name = 'varel_session.absolute_timeout';
    IF NOT FOUND AND to_regclass('varel_session.settings') IS NOT NULL THEN
        EXECUTE 'SELECT extract(epoch FROM absolute_timeout)::float8 FROM varel_session.settings'
            INTO seconds;
    END IF;
    RETURN CASE WHEN seconds = 0 THEN NULL ELSE now() + make_interval(secs => seconds) END;
END
$$;

CREATE FUNCTION model.new(tok text, handle bigint, max_age interval, user_id bigint, data jsonb)
    RETURNS text LANGUAGE sql AS $$
    INSERT INTO model.sessions (handle, user_id, created_at, updated_at, expires_at,
                                absolute_expires_at, max_age, token_hash, data)
    SELECT handle, user_id, now(), now(), least(now() + max_age, model.absolute_deadline()),
           model.absolute_deadline(), max_age, model.h(tok), data
    RETURNING tok
$$;

CREATE FUNCTION model.get(tok text) RETURNS SETOF varel_session.session_row LANGUAGE sql STABLE AS $$
    SELECT data, user_id, created_at, updated_at, expires_at, absolute_expires_at,
           authenticated_at, aal, amr
    FROM model.sessions
    WHERE token_hash = model.h(tok) AND expires_at > now()
      AND (absolute_expires_at IS NULL OR absolute_expires_at > now())
$$;

-- session_load: the read, plus the slide when less than 80% of max_age is left, skipped (not
-- waited for, not failed) when the row is locked or changed since the snapshot, and never
-- attempted under SERIALIZABLE (where a write could make the reading transaction fail).
CREATE FUNCTION model.load(tok text) RETURNS SETOF varel_session.session_row LANGUAGE plpgsql AS $$
DECLARE
    r varel_session.session_row;
    slid varel_session.session_row;
BEGIN
    SELECT * INTO r FROM model.get(tok);
    IF NOT FOUND THEN RETURN; END IF;
    IF current_setting('transaction_isolation') <> 'serializable'
       AND (r.expires_at - now()) * 5 < ((now() + (SELECT max_age FROM model.sessions WHERE token_hash = model.h(tok))) - now()) * 4
       AND least(now() + (SELECT max_age FROM model.sessions WHERE token_hash = model.h(tok)),
                 coalesce(r.absolute_expires_at, 'infinity')) > r.expires_at THEN
        BEGIN
            UPDATE model.sessions s
            SET expires_at = least(now() + s.max_age, coalesce(s.absolute_expires_at, 'infinity'))
            WHERE s.ctid = (SELECT ctid FROM model.sessions
                            WHERE token_hash = model.h(tok) FOR UPDATE NOWAIT)
              AND s.expires_at > now()
            RETURNING s.data, s.user_id, s.created_at, s.updated_at, s.expires_at, s.absolute_expires_at,
                      s.authenticated_at, s.aal, s.amr
            INTO slid;
            IF FOUND THEN r := slid; END IF;
        EXCEPTION WHEN lock_not_available OR serialization_failure THEN
            NULL;
        END;
    END IF;
    RETURN NEXT r;
END
$$;

-- A write that changes nothing writes nothing (the documented contract): it only reports
-- whether there is a live session.
CREATE FUNCTION model.write_data(tok text, new_data_of jsonb, how text) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE model.sessions s
    SET data = model.apply(s.data, new_data_of, how), updated_at = now()
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
      AND model.apply(s.data, new_data_of, how) IS DISTINCT FROM s.data;
    RETURN FOUND OR EXISTS (SELECT 1 FROM model.get(tok));
END
$$;

-- The data operations: a merge patch (JSON null removes), removing one key, clearing.
CREATE FUNCTION model.apply(data jsonb, arg jsonb, how text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE how
        WHEN 'patch' THEN (data - ARRAY(SELECT jsonb_object_keys(arg)))
            || coalesce((SELECT jsonb_object_agg(key, value) FROM jsonb_each(arg)
                         WHERE jsonb_typeof(value) <> 'null'), '{}')
        WHEN 'unset' THEN data - (arg ->> 0)
        WHEN 'clear' THEN '{}'::jsonb
    END
$$;

CREATE FUNCTION model.set_key(tok text, k text, v text) RETURNS boolean LANGUAGE sql AS $$
    SELECT model.write_data(tok, jsonb_build_object(k, v), 'patch')
$$;
CREATE FUNCTION model.set_patch(tok text, patch jsonb) RETURNS boolean LANGUAGE sql AS $$
    SELECT model.write_data(tok, patch, 'patch')
$$;
CREATE FUNCTION model.unset(tok text, k text) RETURNS boolean LANGUAGE sql AS $$
    SELECT model.write_data(tok, jsonb_build_array(k), 'unset')
$$;
CREATE FUNCTION model.clear(tok text) RETURNS boolean LANGUAGE sql AS $$
    SELECT model.write_data(tok, NULL, 'clear')
$$;

CREATE FUNCTION model.touch(tok text) RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz;
BEGIN
    UPDATE model.sessions s
    SET expires_at = least(now() + s.max_age, coalesce(s.absolute_expires_at, 'infinity'))
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
      AND s.expires_at <> least(now() + s.max_age, coalesce(s.absolute_expires_at, 'infinity'))
    RETURNING s.expires_at INTO deadline;
    IF FOUND THEN RETURN deadline; END IF;
    RETURN (SELECT expires_at FROM model.get(tok));
END
$$;

CREATE FUNCTION model.destroy(tok text) RETURNS boolean LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM model.sessions s
        WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
          AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
        RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

-- Rotations: the new token comes from the caller. A log-in first takes the per-user lock, as
-- any implementation of the per-user cap must (the same lock the extension takes:
-- pg_advisory_xact_lock(1987208563, user key), extension/src/users.rs).
CREATE FUNCTION model.rotate(tok text, new_tok text, how text, uid bigint) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    IF how = 'set_user' THEN
        PERFORM pg_advisory_xact_lock(1987208563, uid::int);
    END IF;
    RETURN model.rotate_row(tok, new_tok, how, uid);
END
$$;

CREATE FUNCTION model.rotate_row(tok text, new_tok text, how text, uid bigint) RETURNS text
    LANGUAGE sql AS $$
    UPDATE model.sessions s
    SET token_hash = model.h(new_tok),
        user_id = CASE how WHEN 'set_user' THEN uid WHEN 'clear_user' THEN NULL ELSE s.user_id END,
        updated_at = CASE WHEN (CASE how WHEN 'set_user' THEN uid WHEN 'clear_user' THEN NULL
                                         ELSE s.user_id END) IS DISTINCT FROM s.user_id
                          THEN now() ELSE s.updated_at END,
        absolute_expires_at = CASE how WHEN 'set_user' THEN model.absolute_deadline()
                                       ELSE s.absolute_expires_at END,
        -- A log-in that states no level is AAL1; a log-out forgets it.
        authenticated_at = CASE how WHEN 'set_user' THEN now() WHEN 'clear_user' THEN NULL
                                    ELSE s.authenticated_at END,
        aal = CASE how WHEN 'set_user' THEN 1 WHEN 'clear_user' THEN NULL ELSE s.aal END,
        amr = CASE how WHEN 'set_user' THEN NULL WHEN 'clear_user' THEN NULL ELSE s.amr END,
        expires_at = CASE how WHEN 'set_user'
                              THEN least(now() + s.max_age, coalesce(model.absolute_deadline(), 'infinity'))
                              ELSE s.expires_at END
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
    RETURNING new_tok
$$;

-- The same-key atomic operations, as an application would write each in one statement.
CREATE FUNCTION model.live_exists(tok text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM model.get(tok))
$$;

CREATE FUNCTION model.incr(tok text, k text, by bigint) RETURNS bigint LANGUAGE sql AS $$
    UPDATE model.sessions s
    SET data = s.data || jsonb_build_object(k, coalesce((s.data ->> k)::bigint, 0) + by),
        updated_at = now()
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
    RETURNING (s.data ->> k)::bigint
$$;

CREATE FUNCTION model.take(tok text, k text) RETURNS jsonb LANGUAGE sql AS $$
    WITH old AS (
        SELECT s.token_hash, s.data -> k AS v FROM model.sessions s
        WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
          AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now()) AND s.data ? k
        FOR UPDATE
    )
    UPDATE model.sessions s SET data = s.data - k, updated_at = now()
    FROM old WHERE s.token_hash = old.token_hash
    RETURNING old.v
$$;

CREATE FUNCTION model.push(tok text, k text, v jsonb) RETURNS integer LANGUAGE sql AS $$
    UPDATE model.sessions s
    SET data = s.data || jsonb_build_object(k, coalesce(s.data -> k, '[]') || jsonb_build_array(v)),
        updated_at = now()
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
    RETURNING jsonb_array_length(s.data -> k)
$$;

CREATE FUNCTION model.set_if(tok text, k text, expected jsonb, v jsonb) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE model.sessions s
    SET data = CASE WHEN v = 'null' THEN s.data - k ELSE s.data || jsonb_build_object(k, v) END,
        updated_at = now()
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
      AND (s.data -> k) IS NOT DISTINCT FROM expected;
    IF FOUND THEN RETURN true; END IF;
    RETURN CASE WHEN model.live_exists(tok) THEN false END;
END
$$;

CREATE FUNCTION model.set_data(tok text, new_data jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE model.sessions s SET data = new_data, updated_at = now()
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
      AND s.data IS DISTINCT FROM new_data;
    RETURN FOUND OR model.live_exists(tok);
END
$$;

CREATE FUNCTION model.set_max_age(tok text, age interval) RETURNS timestamptz LANGUAGE sql AS $$
    UPDATE model.sessions s
    SET max_age = age, expires_at = least(now() + age, coalesce(s.absolute_expires_at, 'infinity'))
    WHERE s.token_hash = model.h(tok) AND s.expires_at > now()
      AND (s.absolute_expires_at IS NULL OR s.absolute_expires_at > now())
    RETURNING s.expires_at
$$;
