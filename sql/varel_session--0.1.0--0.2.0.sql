-- varel_session 0.1.0 -> 0.2.0 (ALTER EXTENSION varel_session UPDATE TO '0.2.0').
-- Every statement here matches what sql/*.sql creates for a fresh 0.2.0 install; the upgrade
-- test (tests/upgrade) compares the two catalogs.
\echo Use "ALTER EXTENSION varel_session UPDATE" to load this file. \quit

-- The sessions table's rows travel with pg_dump (they hold hashes, never tokens), so moving a
-- database with pg_dump/pg_restore logs nobody out.
SELECT pg_catalog.pg_extension_config_dump('varel_session.sessions', '');

-- The extension's own helpers move out of the API's schema, so that granting an application
-- every function in varel_session gives it exactly the API; the functions that call them are
-- re-created below with the new names, and "live" gets one definition (is_live).
CREATE SCHEMA varel_session_internal;
COMMENT ON SCHEMA varel_session_internal IS
    'varel_session''s internal helpers: not for applications (the API is in schema varel_session)';
REVOKE ALL ON SCHEMA varel_session_internal FROM PUBLIC;
ALTER FUNCTION varel_session.token_hash(text) SET SCHEMA varel_session_internal;
ALTER FUNCTION varel_session.lock_user(bigint) SET SCHEMA varel_session_internal;
ALTER FUNCTION varel_session.cleanup_plan(integer) SET SCHEMA varel_session_internal;
ALTER FUNCTION varel_session.cleanup_blocks(bigint, integer) SET SCHEMA varel_session_internal;
ALTER FUNCTION varel_session.require_pg_cron() SET SCHEMA varel_session_internal;
ALTER FUNCTION varel_session.sessions_set_updated_at() SET SCHEMA varel_session_internal;

CREATE FUNCTION varel_session_internal.is_live(expires_at timestamptz,
                                               absolute_expires_at timestamptz)
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT $1 OPERATOR(pg_catalog.>) pg_catalog.now()
       AND ($2 IS NULL OR $2 OPERATOR(pg_catalog.>) pg_catalog.now())
$$;
COMMENT ON FUNCTION varel_session_internal.is_live(timestamptz, timestamptz) IS
    'internal: whether a session with these deadlines is live (both still ahead of now())';
REVOKE ALL ON FUNCTION varel_session_internal.is_live(timestamptz, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION varel_session.session_handle(id text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.lpad(pg_catalog.to_hex(s.handle), 16, '0')
    FROM varel_session.sessions AS s
    WHERE s.token_hash = varel_session_internal.token_hash($1)
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
$$;

CREATE OR REPLACE FUNCTION varel_session_internal.cleanup_blocks(first_block bigint, blocks integer) RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH doomed AS (
        SELECT s.ctid
        FROM varel_session.sessions AS s
        WHERE s.ctid >= pg_catalog.format('(%s,0)', $1)::pg_catalog.tid
          AND s.ctid < pg_catalog.format('(%s,0)', $1 + $2)::pg_catalog.tid
          AND NOT varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
        FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM varel_session.sessions AS s
        WHERE s.ctid = ANY (ARRAY (SELECT d.ctid FROM doomed AS d))
          AND NOT varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

CREATE OR REPLACE FUNCTION varel_session.session_schedule_cleanup(schedule text DEFAULT '*/5 * * * *')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM varel_session_internal.require_pg_cron();
    RETURN cron.schedule('varel_session_cleanup', $1, 'CALL varel_session.session_cleanup_run()');
END
$$;

CREATE OR REPLACE FUNCTION varel_session.session_unschedule_cleanup() RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM varel_session_internal.require_pg_cron();
    IF NOT EXISTS (SELECT 1 FROM cron.job
                   WHERE jobname = 'varel_session_cleanup' AND username = current_user) THEN
        RETURN false;
    END IF;
    RETURN cron.unschedule('varel_session_cleanup');
END
$$;

-- "Last seen", and what ip and user_agent mean now (the client of the last log-in). Existing
-- sessions get NULL (unknown) until their next write or slide: no table rewrite.
ALTER TABLE varel_session.sessions ADD COLUMN last_seen_at timestamptz;
COMMENT ON COLUMN varel_session.sessions.ip IS
    'client address at creation or at the last log-in';
COMMENT ON COLUMN varel_session.sessions.user_agent IS
    'client user agent at creation or at the last log-in';
COMMENT ON COLUMN varel_session.sessions.last_seen_at IS
    'when the session was last used: set by writes and by slides of the idle deadline, so at the slide''s granularity';

-- When cleanup last finished and how many sessions it removed, for session_stats(). One row.
CREATE TABLE varel_session.cleanup_log (
    only_row     boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    finished_at  timestamptz,
    removed      bigint      NOT NULL DEFAULT 0
);
INSERT INTO varel_session.cleanup_log DEFAULT VALUES;
COMMENT ON TABLE varel_session.cleanup_log IS
    'when session_cleanup or session_cleanup_run last finished, and how many sessions it removed';

-- session_set_user gains max_age, ip and user_agent (calls with two arguments still work).
DROP FUNCTION varel_session.session_set_user(text, bigint);
CREATE FUNCTION varel_session.session_set_user(
    id text,
    user_id bigint,
    max_age interval DEFAULT NULL,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL
) RETURNS text
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_set_user';
COMMENT ON FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text) IS
    'log in: sets the user, rotates the token (returned), restarts the absolute deadline; optionally a new idle lifetime ("remember me") and the client''s ip and user agent';

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

CREATE FUNCTION varel_session_internal.notify_event(event text, handle bigint, user_id bigint,
                                           count bigint DEFAULT NULL) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_notify_event';
COMMENT ON FUNCTION varel_session_internal.notify_event(text, bigint, bigint, bigint) IS
    'internal: sends a session event (NOTIFY) when varel_session.events is on';

-- session_user_sessions gains last_seen_at; the revocations announce events.
DROP FUNCTION varel_session.session_user_sessions(bigint);
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

CREATE OR REPLACE FUNCTION varel_session.session_revoke(user_id bigint, handle text) RETURNS boolean
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
    RETURN ended;
END
$$;
COMMENT ON FUNCTION varel_session.session_user_revoke(bigint, text) IS
    'ends all of the user''s sessions except the one whose token is except_id; returns how many live ones ended';

-- Cleanup records its runs (for session_stats) and announces them.
CREATE OR REPLACE FUNCTION varel_session.session_cleanup(batch_size integer DEFAULT 10000) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    plan record;
    next_block bigint := 0;
    deleted bigint := 0;
BEGIN
    plan := varel_session_internal.cleanup_plan(batch_size);
    WHILE next_block < plan.block_count LOOP
        deleted := deleted + varel_session_internal.cleanup_blocks(next_block, plan.blocks_per_batch);
        next_block := next_block + plan.blocks_per_batch;
    END LOOP;
    PERFORM varel_session_internal.cleanup_finished(deleted);
    RETURN deleted;
END
$$;
COMMENT ON FUNCTION varel_session.session_cleanup(integer) IS
    'deletes every expired session, in batches of about batch_size rows, in one transaction; returns how many';

-- Records a finished run for session_stats() and announces it (one event per run).
CREATE FUNCTION varel_session_internal.cleanup_finished(removed bigint) RETURNS void
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE varel_session.cleanup_log SET finished_at = pg_catalog.now(), removed = $1;
    SELECT varel_session_internal.notify_event('cleanup', NULL, NULL, $1);
$$;
COMMENT ON FUNCTION varel_session_internal.cleanup_finished(bigint) IS
    'internal: records when cleanup finished and how many sessions it removed, and announces it';

CREATE OR REPLACE PROCEDURE varel_session.session_cleanup_run(
    batch_size integer DEFAULT 10000,
    pause interval DEFAULT '50ms',
    INOUT deleted bigint DEFAULT NULL
)
    LANGUAGE plpgsql
AS $$
DECLARE
    plan record;
    next_block bigint := 0;
BEGIN
    deleted := 0;
    plan := varel_session_internal.cleanup_plan(batch_size);
    WHILE next_block OPERATOR(pg_catalog.<) plan.block_count LOOP
        deleted := deleted OPERATOR(pg_catalog.+)
            varel_session_internal.cleanup_blocks(next_block, plan.blocks_per_batch);
        next_block := next_block OPERATOR(pg_catalog.+) plan.blocks_per_batch;
        COMMIT;
        IF pause OPERATOR(pg_catalog.>) '0'::pg_catalog.interval THEN
            PERFORM pg_catalog.pg_sleep(pg_catalog.date_part('epoch', pause));
        END IF;
    END LOOP;
    PERFORM varel_session_internal.cleanup_finished(deleted);
END
$$;
COMMENT ON PROCEDURE varel_session.session_cleanup_run(integer, interval, bigint) IS
    'deletes every expired session, committing after each batch of about batch_size rows; for pg_cron';

CREATE FUNCTION varel_session.session_stats(
    OUT live_sessions_estimate bigint,
    OUT authenticated_estimate bigint,
    OUT anonymous_estimate bigint,
    OUT expired_estimate bigint,
    OUT distinct_users_estimate bigint,
    OUT max_sessions_of_one_user_estimate bigint,
    OUT table_bytes bigint,
    OUT index_bytes bigint,
    OUT toast_bytes bigint,
    OUT dead_tuples bigint,
    OUT statistics_taken_at timestamptz,
    OUT last_cleanup_at timestamptz,
    OUT last_cleanup_removed bigint
)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl oid := 'varel_session.sessions'::regclass;
    rows_total double precision;
    anonymous_share double precision;
    expired_share double precision;
    users double precision;
    top_share double precision;
BEGIN
    -- Rows: the last ANALYZE's count, or the statistics collector's live-tuple count before the
    -- first one.
    SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples
                ELSE coalesce(pg_stat_get_live_tuples(tbl), 0) END,
           pg_relation_size(c.oid),
           pg_indexes_size(c.oid),
           CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END
    INTO rows_total, table_bytes, index_bytes, toast_bytes
    FROM pg_class AS c WHERE c.oid = tbl;
    dead_tuples := pg_stat_get_dead_tuples(tbl);
    statistics_taken_at := greatest(pg_stat_get_last_analyze_time(tbl),
                                    pg_stat_get_last_autoanalyze_time(tbl));

    -- From pg_statistic (pg_stats' source, readable here as the table's owner): the share of
    -- NULL user_id, its distinct values and its most common value's frequency.
    SELECT s.null_frac,
           CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * rows_total ELSE s.n_distinct END,
           (s.most_common_freqs)[1]
    INTO anonymous_share, users, top_share
    FROM pg_stats AS s
    WHERE s.schemaname = 'varel_session' AND s.tablename = 'sessions' AND s.attname = 'user_id';

    -- The share of sessions past a deadline, per deadline: the most common values already
    -- past, plus the rest of the rows in proportion to the histogram buckets already past (each
    -- bucket holds an equal share of the rows outside the most common values). A session is
    -- expired if either deadline passed; the larger share is the estimate.
    SELECT max(x.share) INTO expired_share
    FROM (
        SELECT coalesce((SELECT sum(m.f)
                         FROM unnest(s.most_common_vals::text::timestamptz[], s.most_common_freqs)
                              AS m(v, f)
                         WHERE m.v <= now()), 0)
               + (1 - s.null_frac - coalesce((SELECT sum(f) FROM unnest(s.most_common_freqs) AS f), 0))
                 * coalesce((SELECT count(*) FILTER (WHERE b <= now())::double precision
                                    / nullif(count(*), 0)
                             FROM unnest(s.histogram_bounds::text::timestamptz[]) AS b), 0)
               AS share
        FROM pg_stats AS s
        WHERE s.schemaname = 'varel_session' AND s.tablename = 'sessions'
          AND s.attname IN ('expires_at', 'absolute_expires_at')
    ) AS x;

    expired_estimate := round(rows_total * coalesce(expired_share, 0));
    live_sessions_estimate := round(rows_total) - expired_estimate;
    anonymous_estimate := round(live_sessions_estimate * coalesce(anonymous_share, 0));
    authenticated_estimate := live_sessions_estimate - anonymous_estimate;
    distinct_users_estimate := least(round(coalesce(users, 0)), authenticated_estimate);
    max_sessions_of_one_user_estimate := CASE
        WHEN authenticated_estimate = 0 THEN 0
        ELSE greatest(1, round(coalesce(top_share, 0) * rows_total)) END;

    SELECT l.finished_at, l.removed INTO last_cleanup_at, last_cleanup_removed
    FROM varel_session.cleanup_log AS l;
END
$$;
COMMENT ON FUNCTION varel_session.session_stats() IS
    'one row for monitoring: counts estimated from the last ANALYZE (no scan), sizes, dead tuples, the last cleanup';

-- Privileges of the new and re-created objects, as sql/privileges.sql gives them.
REVOKE ALL ON TABLE varel_session.cleanup_log FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_incr(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_take(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_push(text, text, jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_if(text, text, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_data(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_max_age(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.notify_event(text, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_user_sessions(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.cleanup_finished(bigint) FROM PUBLIC;
