-- The per-request API, implemented in Rust (extension/src/api/).
--
-- Security model of these functions. They are C functions that run no SQL at all: each opens
-- varel_session.sessions and its primary-key index by OID, reads or writes one row through the
-- table access method, and returns. So:
--   * no name is ever resolved while they run, and a caller's search_path (or a temp table or
--     operator named like ours) cannot change what they do;
--   * they need no privilege on the table (direct table access is not permission-checked), so
--     they are SECURITY INVOKER and do not switch user;
--   * the gate is EXECUTE on the function, which PUBLIC does not have (sql/privileges.sql).
-- This is what lets the hot path skip the per-call cost of SECURITY DEFINER + SET search_path
-- (measured in BENCHMARKS.md) without giving up anything that setting protects against.
-- Functions written in SQL (sql/users.sql, sql/cleanup.sql) do resolve names, and they are
-- SECURITY DEFINER with a pinned search_path.

CREATE FUNCTION varel_session.session_generate_id() RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'varel_session_generate_id';
COMMENT ON FUNCTION varel_session.session_generate_id() IS
    '32 random bytes from the operating system''s CSPRNG, as 64 lowercase hex characters';

CREATE FUNCTION varel_session.session_new(
    max_age interval DEFAULT NULL,
    user_id bigint DEFAULT NULL,
    data jsonb DEFAULT '{}'::pg_catalog.jsonb,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL
) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_new';
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
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_adopt';
COMMENT ON FUNCTION varel_session.session_adopt(text, interval, bigint, jsonb, inet, text) IS
    'creates a session under an id a web framework minted (a framework id); false when one with that id is stored already';

CREATE FUNCTION varel_session.session_get(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE c STABLE PARALLEL SAFE ROWS 1
    AS 'MODULE_PATHNAME', 'varel_session_get';
COMMENT ON FUNCTION varel_session.session_get(text) IS
    'the live session, or no row; writes nothing (works on a hot standby)';

CREATE FUNCTION varel_session.session_load(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE c VOLATILE PARALLEL UNSAFE ROWS 1
    AS 'MODULE_PATHNAME', 'varel_session_load';
COMMENT ON FUNCTION varel_session.session_load(text) IS
    'once per request: the live session, sliding its idle deadline when less than 80% of max_age is left';

CREATE FUNCTION varel_session.session_get(id text, key text) RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'varel_session_get_key';
COMMENT ON FUNCTION varel_session.session_get(text, text) IS
    'data ->> key of the live session, or NULL';

CREATE FUNCTION varel_session.session_set(id text, key text, value text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_key';
COMMENT ON FUNCTION varel_session.session_set(text, text, text) IS
    'sets one key to a JSON string, atomically; false when there is no live session';

CREATE FUNCTION varel_session.session_set(id text, patch jsonb) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_patch';
COMMENT ON FUNCTION varel_session.session_set(text, jsonb) IS
    'top-level merge patch: keys set, JSON null removes a key, other keys kept; false when there is no live session';

CREATE FUNCTION varel_session.session_unset(id text, key text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_unset';
COMMENT ON FUNCTION varel_session.session_unset(text, text) IS
    'removes one key; false when there is no live session';

CREATE FUNCTION varel_session.session_clear(id text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_clear';
COMMENT ON FUNCTION varel_session.session_clear(text) IS
    'empties the data; false when there is no live session';

CREATE FUNCTION varel_session.session_touch(id text) RETURNS timestamptz
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_touch';
COMMENT ON FUNCTION varel_session.session_touch(text) IS
    'slides the idle deadline now (no throttle); the new expires_at, or NULL';

CREATE FUNCTION varel_session.session_destroy(id text) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_destroy';
COMMENT ON FUNCTION varel_session.session_destroy(text) IS
    'deletes the live session; true if there was one';

CREATE FUNCTION varel_session.session_regenerate(id text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_regenerate';
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

CREATE FUNCTION varel_session.session_clear_user(id text) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_clear_user';
COMMENT ON FUNCTION varel_session.session_clear_user(text) IS
    'log out but keep the session: clears the user and rotates the token (returned)';

-- Same-key atomic operations: each reads and writes the one row in one step, on the server, so
-- concurrent requests never lose each other's updates of the same key.
CREATE FUNCTION varel_session.session_incr(id text, key text, by bigint DEFAULT 1) RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_incr';
COMMENT ON FUNCTION varel_session.session_incr(text, text, bigint) IS
    'adds by to the integer under key (missing = 0) and returns the new value; NULL when there is no live session';

CREATE FUNCTION varel_session.session_take(id text, key text) RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_take';
COMMENT ON FUNCTION varel_session.session_take(text, text) IS
    'returns the value under key and removes it, in one step (read-once values: flash messages, nonces); NULL when there is none';

CREATE FUNCTION varel_session.session_push(id text, key text, value jsonb, max_items integer DEFAULT NULL)
    RETURNS integer
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_push';
COMMENT ON FUNCTION varel_session.session_push(text, text, jsonb, integer) IS
    'appends value to the array under key (created when missing), keeping the newest max_items; returns the new length, or NULL without a live session';

CREATE FUNCTION varel_session.session_set_if(id text, key text, expected jsonb, value jsonb)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_if';
COMMENT ON FUNCTION varel_session.session_set_if(text, text, jsonb, jsonb) IS
    'compare-and-set: sets key to value (JSON null removes it) only if its current value equals expected (NULL: only if absent); NULL without a live session';

CREATE FUNCTION varel_session.session_set_data(id text, data jsonb) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_data';
COMMENT ON FUNCTION varel_session.session_set_data(text, jsonb) IS
    'replaces all of the session''s data; false when there is no live session';

CREATE FUNCTION varel_session.session_set_max_age(id text, max_age interval) RETURNS timestamptz
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_max_age';
COMMENT ON FUNCTION varel_session.session_set_max_age(text, interval) IS
    'changes the session''s idle lifetime and slides its idle deadline to now() + max_age (never past the absolute deadline); the new expires_at, or NULL';

-- Helpers for the SQL-language functions, so that hashing and per-user locking have one
-- implementation.
CREATE FUNCTION varel_session_internal.token_hash(id text) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'varel_session_token_hash';
COMMENT ON FUNCTION varel_session_internal.token_hash(text) IS
    'the stored form of a token (SHA-256 of its 32 bytes) or of a framework id, or NULL when id is neither';

CREATE FUNCTION varel_session_internal.lock_user(user_id bigint) RETURNS void
    LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_lock_user';
COMMENT ON FUNCTION varel_session_internal.lock_user(bigint) IS
    'the per-user transaction lock that serialises log-ins, caps and revocations of one user';

CREATE FUNCTION varel_session_internal.notify_event(event text, handle bigint, user_id bigint,
                                           count bigint DEFAULT NULL) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_notify_event';
COMMENT ON FUNCTION varel_session_internal.notify_event(text, bigint, bigint, bigint) IS
    'internal: sends a session event (NOTIFY) when varel_session.events is on';

-- Whether events are on, for SQL that would otherwise call notify_event once per row. The
-- setting may still be a placeholder (the library not loaded yet in this backend): read it so.
-- The SQL edition has its own (sql_edition/policy.sql), of the same form: callers write
-- (SELECT e FROM varel_session_internal.events_on() AS e).
CREATE FUNCTION varel_session_internal.events_on() RETURNS SETOF boolean
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(pg_catalog.current_setting('varel_session.events', true), 'off')::boolean
$$;
COMMENT ON FUNCTION varel_session_internal.events_on() IS
    'internal: whether varel_session.events is on in this session';
