-- varel_session 0.2.0 -> 0.3.0 (ALTER EXTENSION varel_session UPDATE TO '0.3.0').
-- Every statement here matches what sql/*.sql creates for a fresh 0.3.0 install; the upgrade
-- test (tests/upgrade) compares the two catalogs.
\echo Use "ALTER EXTENSION varel_session UPDATE" to load this file. \quit

-- Framework ids: a session created under an id a web framework minted itself (tower-sessions,
-- scs, PHP, Laravel, Spring), which every function then accepts as it accepts a token. The
-- library hashes framework ids in every function; this adds the one that creates a session
-- under one.
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
REVOKE ALL ON FUNCTION varel_session.session_adopt(text, interval, bigint, jsonb, inet, text) FROM PUBLIC;

COMMENT ON FUNCTION varel_session_internal.token_hash(text) IS
    'the stored form of a token (SHA-256 of its 32 bytes) or of a framework id, or NULL when id is neither';

-- Session events: cleanup announces each session it removes (`expired`), so that listeners
-- (Spring Session's SessionExpiredEvent) hear of expiries as of other ends.
CREATE FUNCTION varel_session_internal.events_on() RETURNS SETOF boolean
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(pg_catalog.current_setting('varel_session.events', true), 'off')::boolean
$$;
COMMENT ON FUNCTION varel_session_internal.events_on() IS
    'internal: whether varel_session.events is on in this session';
REVOKE ALL ON FUNCTION varel_session_internal.events_on() FROM PUBLIC;

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
        RETURNING s.handle, s.user_id
    ), announced AS (
        -- An expired event per session removed, when events are on (checked once per batch).
        SELECT varel_session_internal.notify_event('expired', g.handle, g.user_id)
        FROM gone AS g
        WHERE (SELECT e FROM varel_session_internal.events_on() AS e)
    )
    -- The condition makes the announcements run: a CTE that nothing reads is not run.
    SELECT count(*) FROM gone WHERE (SELECT count(*) FROM announced) >= 0
$$;
COMMENT ON FUNCTION varel_session_internal.cleanup_blocks(bigint, integer) IS
    'internal: deletes the expired sessions stored in a range of blocks (an expired event for each, when events are on); returns how many';
