-- varel_session on a shard node: the small additions the router (router.sql) calls besides the
-- extension's own API. Run once per node database, as a superuser, after
-- `CREATE EXTENSION varel_session`, with psql variables:
--   psql -v route_bits=2 -v router_role=varel_router -f sharding/node.sql
-- route_bits: log2 of the router's partition count (every node of a cluster has the same).
-- router_role: the role the router connects as (created here when missing, without LOGIN;
-- give it LOGIN and a password, or a pg_hba rule, as your set-up requires).
--
-- The node then mints every token so that it routes back here: `varel_session.route_bits`
-- makes a rotation keep the old token's route bits, and `session_new_on` creates a session
-- whose token routes to the partition the router chose. See SCALING.md.
\set ON_ERROR_STOP on
BEGIN;

SELECT pg_catalog.format('ALTER DATABASE %I SET varel_session.route_bits = %s',
                         pg_catalog.current_database(), :'route_bits') \gexec
SET varel_session.route_bits = :'route_bits';

SELECT pg_catalog.format('CREATE ROLE %I NOLOGIN', :'router_role')
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'router_role') \gexec

CREATE SCHEMA varel_session_shard;
REVOKE ALL ON SCHEMA varel_session_shard FROM PUBLIC;
COMMENT ON SCHEMA varel_session_shard IS
    'varel_session on a shard node: what the PL/Proxy router calls besides the SQL API';

-- A new session whose token routes to partition `route` of `partitions`. Refuses when the
-- router's partition count is not this node's (2^route_bits): tokens would route elsewhere.
CREATE FUNCTION varel_session_shard.session_new_on(route integer, partitions integer,
        max_age interval, user_id bigint, data jsonb, ip inet, user_agent text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bits integer := pg_catalog.current_setting('varel_session.route_bits')::integer;
    token text;
BEGIN
    IF partitions IS DISTINCT FROM (1 OPERATOR(pg_catalog.<<) bits) THEN
        RAISE EXCEPTION 'the router has % partitions but this node has varel_session.route_bits = % (% partitions)',
            partitions, bits, 1 OPERATOR(pg_catalog.<<) bits
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'set varel_session.route_bits on every node to log2 of the router''s partition count';
    END IF;
    -- The router passes a whole int4 hash; PL/Proxy used its low route_bits bits.
    PERFORM pg_catalog.set_config('varel_session.route',
        (route OPERATOR(pg_catalog.&) (partitions OPERATOR(pg_catalog.-) 1))::text, true);
    token := varel_session.session_new(max_age, user_id, data, ip, user_agent);
    PERFORM pg_catalog.set_config('varel_session.route', '-1', true);
    RETURN token;
END
$$;
COMMENT ON FUNCTION varel_session_shard.session_new_on(integer, integer, interval, bigint, jsonb, inet, text) IS
    'session_new, minting a token that routes to partition route of partitions';

-- What a log-in that moves a session to its user's home partition copies: the live session
-- named by id (none when it is not live), its data as session_get returns it (opened, when
-- it is sealed: the copy seals it again under its own token).
CREATE FUNCTION varel_session_shard.session_export(id text)
    RETURNS TABLE (data jsonb, handle bigint, created_at timestamptz, max_age interval,
                   ip inet, user_agent text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT g.data, s.handle, s.created_at, s.max_age, s.ip, s.user_agent
    FROM varel_session.sessions AS s, varel_session.session_get(id) AS g
    WHERE s.token_hash OPERATOR(pg_catalog.=) varel_session_internal.token_hash(id)
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at)
$$;
COMMENT ON FUNCTION varel_session_shard.session_export(text) IS
    'the live session named by id, as a log-in that moves it to another partition copies it';

-- The copy: a session logged in as user_id (the cap applies, as at any log-in), routing to
-- partition `route`, with the moved session's data, handle and creation time, and the log-in's
-- authentication context (session_reauthenticate records it and applies its deadlines). Its one
-- event is the log-in, under the handle it keeps (not a "created" under a handle it loses at
-- once).
CREATE FUNCTION varel_session_shard.session_import(route integer, partitions integer,
        user_id bigint, max_age interval, ip inet, user_agent text, data jsonb, handle bigint,
        created_at timestamptz, aal smallint, amr text[]) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Missing (NULL) until the library is loaded, unless set for the database or server.
    events text := coalesce(pg_catalog.current_setting('varel_session.events', true), 'off');
    token text;
BEGIN
    PERFORM pg_catalog.set_config('varel_session.events', 'off', true);
    token := varel_session_shard.session_new_on(route, partitions, max_age, user_id, data, ip,
                                                user_agent);
    token := varel_session.session_reauthenticate(token, session_import.aal, session_import.amr);
    PERFORM pg_catalog.set_config('varel_session.events', events, true);
    UPDATE varel_session.sessions AS s
       SET handle = session_import.handle, created_at = session_import.created_at
     WHERE s.token_hash OPERATOR(pg_catalog.=) varel_session_internal.token_hash(token);
    PERFORM varel_session_internal.notify_event('logged_in', session_import.handle,
                                                session_import.user_id);
    RETURN token;
END
$$;
COMMENT ON FUNCTION varel_session_shard.session_import(integer, integer, bigint, interval, inet, text, jsonb, bigint, timestamptz, smallint, text[]) IS
    'the copy a moving log-in creates on the user''s home partition';

-- The end of the source of a move: the session lives on as the copy, so no "destroyed" event.
-- Whether there was a live session to end.
CREATE FUNCTION varel_session_shard.session_discard(id text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ended boolean;
BEGIN
    PERFORM pg_catalog.set_config('varel_session.events', 'off', true);
    ended := varel_session.session_destroy(id);
    RETURN ended;
END
$$;
COMMENT ON FUNCTION varel_session_shard.session_discard(text) IS
    'ends the source of a moving log-in, without an event (the session lives on as the copy)';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session_shard FROM PUBLIC;
SELECT pg_catalog.format('GRANT USAGE ON SCHEMA varel_session, varel_session_shard TO %I',
                         :'router_role') \gexec
SELECT pg_catalog.format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session, varel_session_shard TO %I',
                         :'router_role') \gexec
COMMIT;
