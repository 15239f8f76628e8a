-- The SQL edition's policy: where the settings live that the C edition keeps in SUSET GUCs.
--
-- Without a shared library there is no way to declare a varel_session.* setting: SET on such a
-- name creates a placeholder that any role may set, so an application role could give its own
-- sessions a lifetime of years. The policy therefore lives in a table only the extension's
-- owner can change:
--
--     UPDATE varel_session.settings SET max_sessions_per_user = 5;
--
-- A varel_session.* setting counts only in a session whose current role is a superuser (what
-- SUSET means in the C edition: only a superuser could have set it); there it overrides the
-- table for that session, which is how administrators and the shared test suite try a value.
-- In an application role's session every varel_session.* setting is ignored.

CREATE TABLE varel_session.settings (
    only_row              boolean  PRIMARY KEY DEFAULT true CHECK (only_row),
    max_age               interval NOT NULL DEFAULT '24:00:00'
        CHECK (max_age OPERATOR(pg_catalog.>=) '1 second'::pg_catalog.interval),
    absolute_timeout      interval NOT NULL DEFAULT '720:00:00'
        CHECK (absolute_timeout OPERATOR(pg_catalog.>=) '0'::pg_catalog.interval),
    max_data_bytes        integer  NOT NULL DEFAULT 65536
        CHECK (max_data_bytes OPERATOR(pg_catalog.>=) 16
               AND max_data_bytes OPERATOR(pg_catalog.<=) 268435455),
    max_sessions_per_user integer  NOT NULL DEFAULT 0
        CHECK (max_sessions_per_user OPERATOR(pg_catalog.>=) 0),
    events                boolean  NOT NULL DEFAULT false,
    events_channel        text     NOT NULL DEFAULT 'varel_session_events',
    aal_timeouts          boolean  NOT NULL DEFAULT false
);
INSERT INTO varel_session.settings DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('varel_session.settings', '');
COMMENT ON TABLE varel_session.settings IS
    'the SQL edition''s policy (the C edition''s varel_session.* settings); one row, changed only by the owner';
COMMENT ON COLUMN varel_session.settings.absolute_timeout IS
    'hard cap on a session''s life from creation or the last log-in; 0 = none';
COMMENT ON COLUMN varel_session.settings.aal_timeouts IS
    'caps the deadlines of a log-in by its assurance level, as NIST SP 800-63B-4 asks';

-- The value of varel_session.<name> if it counts: set, and the session's role a superuser.
-- is_superuser follows SET ROLE and SET SESSION AUTHORIZATION but not SECURITY DEFINER, so
-- inside the API's functions it still describes the caller's session. Plain SQL without SET
-- options, so the planner inlines it.
-- pgspot-allow: proc-without-search-path varel_session_internal.superuser_setting(name text)
CREATE FUNCTION varel_session_internal.superuser_setting(name text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN pg_catalog.current_setting('is_superuser') OPERATOR(pg_catalog.=) 'on'
                 AND pg_catalog.current_setting('varel_session.' OPERATOR(pg_catalog.||) $1, true)
                     OPERATOR(pg_catalog.<>) ''
                THEN pg_catalog.current_setting('varel_session.' OPERATOR(pg_catalog.||) $1, true)
           END
$$;
COMMENT ON FUNCTION varel_session_internal.superuser_setting(text) IS
    'internal: a varel_session.* setting''s value when the session''s role is a superuser, else NULL';

-- A duration as the C edition's settings hold it: whole seconds (an interval of '1 day' is
-- 86400 seconds, not a calendar day).
-- pgspot-allow: proc-without-search-path varel_session_internal.seconds(span interval)
CREATE FUNCTION varel_session_internal.seconds(span interval) RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.make_interval(secs => pg_catalog.trunc(pg_catalog.date_part('epoch', $1)))
$$;

-- The policy in force for this call: the table, with a superuser's overrides.
-- pgspot-allow: proc-without-search-path varel_session_internal.policy(OUT max_age interval,OUT absolute_timeout interval,OUT max_data_bytes integer,OUT max_sessions_per_user integer,OUT events boolean,OUT events_channel text,OUT aal_timeouts boolean)
CREATE FUNCTION varel_session_internal.policy(
    OUT max_age interval,
    OUT absolute_timeout interval,
    OUT max_data_bytes integer,
    OUT max_sessions_per_user integer,
    OUT events boolean,
    OUT events_channel text,
    OUT aal_timeouts boolean)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1
AS $$
    SELECT varel_session_internal.seconds(coalesce(
               varel_session_internal.superuser_setting('max_age')::pg_catalog.interval, s.max_age)),
           varel_session_internal.seconds(coalesce(
               varel_session_internal.superuser_setting('absolute_timeout')::pg_catalog.interval,
               s.absolute_timeout)),
           coalesce(
               pg_catalog.pg_size_bytes(varel_session_internal.superuser_setting('max_data_bytes'))::integer,
               s.max_data_bytes),
           coalesce(
               varel_session_internal.superuser_setting('max_sessions_per_user')::integer,
               s.max_sessions_per_user),
           coalesce(varel_session_internal.superuser_setting('events')::boolean, s.events),
           coalesce(varel_session_internal.superuser_setting('events_channel'),
               s.events_channel),
           coalesce(varel_session_internal.superuser_setting('aal_timeouts')::boolean,
               s.aal_timeouts)
    FROM varel_session.settings AS s
$$;
COMMENT ON FUNCTION varel_session_internal.policy() IS
    'internal: the settings in force for this call (varel_session.settings, a superuser''s SET overriding it)';

-- The one setting every data write needs, without computing the others. Set-returning, so
-- that the planner inlines it (a scalar SQL function with a subquery is not inlined, and
-- would be planned again on every call): callers write (SELECT m FROM max_data_bytes() AS m).
-- pgspot-allow: proc-without-search-path varel_session_internal.max_data_bytes()
CREATE FUNCTION varel_session_internal.max_data_bytes() RETURNS SETOF integer
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1
AS $$
    SELECT coalesce(
        pg_catalog.pg_size_bytes(varel_session_internal.superuser_setting('max_data_bytes'))::integer,
        s.max_data_bytes)
    FROM varel_session.settings AS s
$$;

-- Whether session events are on, for the functions that read no other setting; the same form.
-- pgspot-allow: proc-without-search-path varel_session_internal.events_on()
CREATE FUNCTION varel_session_internal.events_on() RETURNS SETOF boolean
    LANGUAGE sql STABLE PARALLEL SAFE ROWS 1
AS $$
    SELECT coalesce(varel_session_internal.superuser_setting('events')::boolean, s.events)
    FROM varel_session.settings AS s
$$;

