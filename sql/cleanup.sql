-- Removing expired sessions.
--
-- An expired session is already invisible to every function (deadlines are checked on read),
-- so cleanup only reclaims space. There is deliberately no index on expires_at (it would make
-- every slide of the deadline a non-HOT update, sql/schema.sql), so cleanup walks the table in
-- physical order, a range of blocks at a time, with TID range scans: each batch reads its
-- blocks once, and the whole table is read once per run however many rows are expired.
--
-- A batch locks the expired rows it found with FOR UPDATE SKIP LOCKED, so it never waits for a
-- request that is using a row, and it deletes a row only if it is still expired when deleted
-- (a concurrent session_load may have just slid it). Requests never wait for cleanup either:
-- reads take no row locks, and writes ignore expired rows.

-- How to split the table into batches of about batch_size rows.
CREATE FUNCTION varel_session_internal.cleanup_plan(batch_size integer,
    OUT block_count bigint, OUT blocks_per_batch integer)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rows_per_block double precision;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive integer'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    block_count := pg_catalog.pg_relation_size('varel_session.sessions'::pg_catalog.regclass)
        / pg_catalog.current_setting('block_size')::bigint;
    -- Statistics say how densely rows are packed; without them, assume about 45 rows of
    -- 150 bytes in the 80% of an 8 kB page that fillfactor fills.
    SELECT CASE WHEN c.relpages > 0 AND c.reltuples > 0 THEN c.reltuples / c.relpages END
    INTO rows_per_block
    FROM pg_catalog.pg_class AS c WHERE c.oid = 'varel_session.sessions'::pg_catalog.regclass;
    blocks_per_batch := greatest(1, least(1000000,
        pg_catalog.ceil(batch_size / coalesce(rows_per_block, 45))))::integer;
END
$$;
COMMENT ON FUNCTION varel_session_internal.cleanup_plan(integer) IS
    'internal: table size in blocks, and how many blocks hold about batch_size rows';

-- One batch: the expired sessions stored in blocks [first_block, first_block + blocks).
CREATE FUNCTION varel_session_internal.cleanup_blocks(first_block bigint, blocks integer) RETURNS bigint
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

CREATE FUNCTION varel_session.session_cleanup(batch_size integer DEFAULT 10000) RETURNS bigint
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

-- Records a finished run for session_stats() and announces it (one event per run). It also
-- removes what imports left behind (sql/import.sql): waiting imported sessions whose deadline
-- has passed, and ended ones once the old store's expiry has passed too (until then the row
-- keeps a re-run of the import from bringing a claimed old id back). And the identity
-- providers' records (sql/idp.sql) of sessions that have ended. Few rows, looked at once per
-- run.
CREATE FUNCTION varel_session_internal.cleanup_finished(removed bigint) RETURNS void
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

-- The same, committing after every batch, so that a run over millions of rows never holds one
-- long transaction (which would hold back vacuum and keep every deleted row locked to the
-- end). This is what the pg_cron job calls. A procedure that commits cannot be SECURITY
-- DEFINER or carry SET options; it runs with its caller's rights and reaches the table only
-- through the SECURITY DEFINER functions above, all names schema-qualified. The pause between
-- batches (50 ms by default) leaves most of the machine to live traffic: BENCHMARKS.md has
-- concurrent session_get throughput and the cleanup rate for several pauses.
-- pgspot: no SET search_path, because PostgreSQL refuses COMMIT in a procedure with SET
-- options; it runs with its caller's rights and only calls schema-qualified SECURITY DEFINER
-- functions.
-- pgspot-allow: proc-without-search-path varel_session.session_cleanup_run(batch_size integer,pause interval,INOUT deleted bigint)
CREATE PROCEDURE varel_session.session_cleanup_run(
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
