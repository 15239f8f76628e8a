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
