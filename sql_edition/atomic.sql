-- Same-key atomic operations in the SQL edition (the C edition's extension/src/api/atomic.rs).
-- Each locks the live session's row, computes the new data from that version, and writes it in
-- the same transaction, so concurrent calls on one key never lose an update: under READ
-- COMMITTED a second call waits and then works from the first one's result; under REPEATABLE
-- READ it fails with 40001, as SQL's UPDATE would.

-- The live session's row for a same-key write: locked, or NULL when there is none.
CREATE FUNCTION varel_session_internal.lock_session(function_name text, id text,
    OUT row_id tid, OUT data jsonb)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash bytea := varel_session_internal.token_hash(id);
BEGIN
    IF hash IS NULL THEN
        RETURN;
    END IF;
    IF current_setting('transaction_read_only') = 'on' THEN
        PERFORM varel_session_internal.raise_read_only(function_name);
    END IF;
    SELECT s.ctid, s.data INTO row_id, data
    FROM varel_session.sessions AS s
    WHERE s.token_hash = hash
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
    FOR NO KEY UPDATE;
END
$$;

-- Writes new data into the row lock_session locked (unless it is the same), within the limit.
CREATE FUNCTION varel_session_internal.replace_locked(row_id tid, old jsonb, new jsonb)
    RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_bytes integer;
BEGIN
    IF varel_session_internal.same_data(old, new) THEN
        RETURN;
    END IF;
    max_bytes := (SELECT m FROM varel_session_internal.max_data_bytes() AS m);
    IF pg_column_size(new) > max_bytes THEN
        PERFORM varel_session_internal.raise_too_large(pg_column_size(new), max_bytes);
    END IF;
    UPDATE varel_session.sessions AS s
    SET data = new, updated_at = now(), last_seen_at = now()
    WHERE s.ctid = row_id;
END
$$;

-- A key longer than the data may be is refused before the session is read.
CREATE FUNCTION varel_session_internal.check_key_and_value(key text, value jsonb) RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_bytes integer := (SELECT m FROM varel_session_internal.max_data_bytes() AS m);
BEGIN
    IF octet_length(key) > max_bytes THEN
        PERFORM varel_session_internal.raise_too_large(octet_length(key), max_bytes);
    END IF;
    IF octet_length(key) + pg_column_size(value) > max_bytes THEN
        PERFORM varel_session_internal.raise_too_large(octet_length(key) + pg_column_size(value),
                                                      max_bytes);
    END IF;
END
$$;

CREATE FUNCTION varel_session.session_incr(id text, key text, by bigint DEFAULT 1) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    locked record;
    current jsonb;
    sum numeric;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF by IS NULL THEN
        RAISE EXCEPTION 'by must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM varel_session_internal.check_key_and_value(key, NULL);
    locked := varel_session_internal.lock_session('session_incr', id);
    IF locked.row_id IS NULL THEN
        RETURN NULL;
    END IF;
    current := locked.data -> key;
    IF current IS NULL THEN
        sum := by;
    ELSIF jsonb_typeof(current) = 'number' AND (current #>> '{}') ~ '^-?[0-9]+$' THEN
        sum := (current #>> '{}')::numeric + by;
        IF (current #>> '{}')::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807
           OR sum NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
            RAISE EXCEPTION 'the value of key "%" would be out of range for bigint',
                varel_session_internal.shown_key(key) USING ERRCODE = 'numeric_value_out_of_range';
        END IF;
    ELSE
        RAISE EXCEPTION 'the value of key "%" is not an integer', varel_session_internal.shown_key(key)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM varel_session_internal.replace_locked(locked.row_id, locked.data,
        locked.data || jsonb_build_object(key, sum::bigint));
    RETURN sum::bigint;
END
$$;
COMMENT ON FUNCTION varel_session.session_incr(text, text, bigint) IS
    'adds by to the integer under key (missing = 0) and returns the new value; NULL when there is no live session';

CREATE FUNCTION varel_session.session_take(id text, key text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    locked record;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    locked := varel_session_internal.lock_session('session_take', id);
    IF locked.row_id IS NULL OR NOT locked.data ? key THEN
        RETURN NULL;
    END IF;
    PERFORM varel_session_internal.replace_locked(locked.row_id, locked.data, locked.data - key);
    RETURN locked.data -> key;
END
$$;
COMMENT ON FUNCTION varel_session.session_take(text, text) IS
    'returns the value under key and removes it, in one step (read-once values: flash messages, nonces); NULL when there is none';

CREATE FUNCTION varel_session.session_push(id text, key text, value jsonb, max_items integer DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    locked record;
    existing jsonb;
    items jsonb;
    length integer;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF value IS NULL THEN
        RAISE EXCEPTION 'value must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF max_items < 1 THEN
        RAISE EXCEPTION 'max_items must be a positive integer' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM varel_session_internal.check_key_and_value(key, value);
    locked := varel_session_internal.lock_session('session_push', id);
    IF locked.row_id IS NULL THEN
        RETURN NULL;
    END IF;
    existing := locked.data -> key;
    IF existing IS NULL THEN
        items := jsonb_build_array(value);
    ELSIF jsonb_typeof(existing) = 'array' THEN
        items := existing || jsonb_build_array(value);
    ELSE
        RAISE EXCEPTION 'the value of key "%" is not an array', varel_session_internal.shown_key(key)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    length := jsonb_array_length(items);
    IF max_items IS NOT NULL AND length > max_items THEN
        items := (SELECT jsonb_agg(e.value ORDER BY e.n)
                  FROM jsonb_array_elements(items) WITH ORDINALITY AS e(value, n)
                  WHERE e.n > length - max_items);
        length := max_items;
    END IF;
    PERFORM varel_session_internal.replace_locked(locked.row_id, locked.data,
        locked.data || jsonb_build_object(key, items));
    RETURN length;
END
$$;
COMMENT ON FUNCTION varel_session.session_push(text, text, jsonb, integer) IS
    'appends value to the array under key (created when missing), keeping the newest max_items; returns the new length, or NULL without a live session';

CREATE FUNCTION varel_session.session_set_if(id text, key text, expected jsonb, value jsonb)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    locked record;
    current jsonb;
BEGIN
    IF key IS NULL THEN
        RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF value IS NULL THEN
        RAISE EXCEPTION 'value must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM varel_session_internal.check_key_and_value(key, value);
    locked := varel_session_internal.lock_session('session_set_if', id);
    IF locked.row_id IS NULL THEN
        RETURN NULL;
    END IF;
    current := locked.data -> key;
    IF NOT coalesce(current = expected, current IS NULL AND expected IS NULL) THEN
        RETURN false;
    END IF;
    PERFORM varel_session_internal.replace_locked(locked.row_id, locked.data,
        CASE WHEN jsonb_typeof(value) = 'null' THEN locked.data - key
             ELSE locked.data || jsonb_build_object(key, value) END);
    RETURN true;
END
$$;
COMMENT ON FUNCTION varel_session.session_set_if(text, text, jsonb, jsonb) IS
    'compare-and-set: sets key to value (JSON null removes it) only if its current value equals expected (NULL: only if absent); NULL without a live session';
