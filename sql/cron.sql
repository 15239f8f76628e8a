-- Scheduling the cleanup with pg_cron.
--
-- CREATE EXTENSION varel_session never needs pg_cron: these functions look for it only when
-- called. They are SECURITY INVOKER: scheduling is an administrator's act, done with the
-- caller's own pg_cron rights, and the job runs as the caller. The job has a fixed name, so
-- scheduling again updates it (pg_cron upserts by name and user) instead of adding another.

CREATE FUNCTION varel_session_internal.require_pg_cron() RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'install pg_cron (Debian: apt-get install postgresql-15-cron), add it to '
                      || 'shared_preload_libraries, set cron.database_name to this database, '
                      || 'restart PostgreSQL and run CREATE EXTENSION pg_cron; if pg_cron lives in '
                      || 'another database, schedule CALL varel_session.session_cleanup_run() from '
                      || 'there with cron.schedule_in_database';
    END IF;
END
$$;
COMMENT ON FUNCTION varel_session_internal.require_pg_cron() IS
    'internal: raises a clear error, with a hint, when pg_cron is not installed here';

CREATE FUNCTION varel_session.session_schedule_cleanup(schedule text DEFAULT '*/5 * * * *')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM varel_session_internal.require_pg_cron();
    RETURN cron.schedule('varel_session_cleanup', $1, 'CALL varel_session.session_cleanup_run()');
END
$$;
COMMENT ON FUNCTION varel_session.session_schedule_cleanup(text) IS
    'registers (or updates) the pg_cron job varel_session_cleanup; returns its job id';

CREATE FUNCTION varel_session.session_unschedule_cleanup() RETURNS boolean
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
COMMENT ON FUNCTION varel_session.session_unschedule_cleanup() IS
    'removes the pg_cron job varel_session_cleanup; false if there was none';
