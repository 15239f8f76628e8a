-- The varel_session SQL API on a PL/Proxy router: schema varel_session with every function of
-- the API (same names, arguments, defaults and results), each running the real one on the shard
-- node its token routes to. Run once per router database, as a superuser, after
-- `CREATE EXTENSION plproxy` and the cluster definition (SCALING.md, "Set-up"):
--   CREATE SERVER varel_session FOREIGN DATA WRAPPER plproxy OPTIONS (p0 '...', p1 '...', ...);
--   CREATE USER MAPPING FOR PUBLIC SERVER varel_session OPTIONS (user 'varel_router', ...);
--   psql -v app_role=app -f sharding/router.sql
-- app_role: the application's role (gets USAGE on the cluster and EXECUTE on the API).
--
-- Routing: a token's partition is the first four bytes of SHA-256 of its 32 bytes (the first
-- four bytes of the hash the node stores), big-endian, masked by PL/Proxy with the partition
-- count minus one. Nodes mint tokens that route back to them (node.sql). A malformed token
-- routes to partition 0, whose node answers "no session".
--
-- This file is a hand-kept copy of a node's API (sql/*.sql): the sharding tests compare its
-- functions, arguments, defaults and result types, and session_row's attributes, with a node's
-- (tests/integration/tests/sharding.rs). The functions of a node's API that the router leaves
-- out, each on a line of its own that the test reads:
-- node-only: session_stats (each node's table has its own statistics)
-- node-only: session_schedule_cleanup (pg_cron runs each node's cleanup there)
-- node-only: session_unschedule_cleanup (the same)
-- node-only: session_cleanup_run (a procedure that commits per batch, on its own node)
-- node-only: session_import (imports are for one server; docs/moving.md)
-- node-only: session_import_prune (the same)
-- node-only: session_import_status (the same)
-- node-only: session_claim (an imported old id is stored on the node it was imported into)
-- node-only: session_export (each node exports its own sessions)
-- node-only: session_revoke_all (the owner's, on each node; the router's role may not)
-- node-only: session_revoke_all_run (the same, and a procedure that commits per batch)
-- node-only: session_list (the owner's, on each node)
\set ON_ERROR_STOP on
BEGIN;

CREATE SCHEMA varel_session;
CREATE SCHEMA varel_session_router;
REVOKE ALL ON SCHEMA varel_session_router FROM PUBLIC;

CREATE TYPE varel_session.session_row AS (
    data jsonb,
    user_id bigint,
    created_at timestamptz,
    updated_at timestamptz,
    expires_at timestamptz,
    absolute_expires_at timestamptz,
    authenticated_at timestamptz,
    aal smallint,
    amr text[]
);

-- Whether id has a token's shape (64 hex characters, either case), as the nodes check it.
CREATE FUNCTION varel_session_router.is_token(id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.octet_length(id) OPERATOR(pg_catalog.=) 64
       AND pg_catalog.ltrim(id, '0123456789abcdefABCDEF') OPERATOR(pg_catalog.=) '';

-- Whether id has a framework id's shape (22 to 128 characters of A-Z a-z 0-9 - _ , ., and not
-- a token), as the nodes check it (extension/src/token.rs).
CREATE FUNCTION varel_session_router.is_framework_id(id text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.octet_length(id) OPERATOR(pg_catalog.>=) 22
       AND pg_catalog.octet_length(id) OPERATOR(pg_catalog.<=) 128
       AND pg_catalog.ltrim(id, '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_,.')
           OPERATOR(pg_catalog.=) ''
       AND NOT varel_session_router.is_token(id);

-- The route of a token: the first four bytes of its stored hash (SHA-256 of its bytes; of a
-- framework id, SHA-256 of 'varel_session framework id:' and the id), as an int4 (0 when it
-- is neither, or NULL). One expression, no subquery: PL/Proxy runs it for every call, and a
-- scalar subquery here (to hash once and read two bytes) halved the routed calls' rate.
CREATE FUNCTION varel_session_router.route(id text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN varel_session_router.is_token(id)
        THEN ('x' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.substr(
                  pg_catalog.sha256(pg_catalog.decode(id, 'hex')), 1, 4), 'hex'))::bit(32)::integer
        WHEN varel_session_router.is_framework_id(id)
        THEN ('x' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.substr(
                  pg_catalog.sha256(('varel_session framework id:' OPERATOR(pg_catalog.||) id)::pg_catalog.bytea),
                  1, 4), 'hex'))::bit(32)::integer
        ELSE 0 END;

-- The home route of a user: where the user's logged-in sessions live.
CREATE FUNCTION varel_session_router.home(user_id bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.hashint8(user_id);

-- The partition count of the cluster (a power of two), from its definition.
CREATE FUNCTION varel_session_router.partitions() RETURNS integer
    LANGUAGE sql STABLE
    RETURN (SELECT pg_catalog.count(*)::integer
            FROM pg_catalog.pg_foreign_server AS s,
                 pg_catalog.pg_options_to_table(s.srvoptions) AS o
            WHERE s.srvname OPERATOR(pg_catalog.=) 'varel_session'
              AND o.option_name OPERATOR(pg_catalog.~) '^p[0-9]+$');

------------------------------------------------------------------------------------------------
-- Per-request functions: one row, found by the token, on the node it routes to.

-- A session under an id a web framework minted: on the partition the id routes to (its node
-- creates it there whatever its own minting route). With a user, it is not moved to the
-- user's home partition: the per-user cap counts it only once a log-in brings it home.
CREATE FUNCTION varel_session.session_adopt(id text, max_age interval DEFAULT NULL,
        user_id bigint DEFAULT NULL, data jsonb DEFAULT '{}'::pg_catalog.jsonb,
        ip inet DEFAULT NULL, user_agent text DEFAULT NULL) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_get(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE plproxy ROWS 1 AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_get(id text, key text) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_load(id text) RETURNS SETOF varel_session.session_row
    LANGUAGE plproxy ROWS 1 AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_set(id text, patch jsonb) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_set(id text, key text, value text) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_unset(id text, key text) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_clear(id text) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_set_data(id text, data jsonb) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_incr(id text, key text, by bigint DEFAULT 1) RETURNS bigint
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_take(id text, key text) RETURNS jsonb
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_push(id text, key text, value jsonb,
        max_items integer DEFAULT NULL) RETURNS integer
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_set_if(id text, key text, expected jsonb, value jsonb)
    RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_touch(id text) RETURNS timestamptz
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_set_max_age(id text, max_age interval) RETURNS timestamptz
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_destroy(id text) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_handle(id text) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_csrf_token(id text) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_csrf_verify(id text, candidate text) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_auth_recent(id text, within interval,
        min_aal smallint DEFAULT 1) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
-- Rotations: the node mints the new token with the old one's route (varel_session.route_bits),
-- so the session stays where it is.
CREATE FUNCTION varel_session.session_reauthenticate(id text, aal smallint DEFAULT NULL,
        amr text[] DEFAULT NULL) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_regenerate(id text) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_clear_user(id text) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session.session_generate_id() RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON ANY;
$$;

-- Internal steps of session_new and session_set_user.
CREATE FUNCTION varel_session_router.new_on(route integer, partitions integer,
        max_age interval, user_id bigint, data jsonb, ip inet, user_agent text) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON route;
    TARGET varel_session_shard.session_new_on;
$$;
CREATE FUNCTION varel_session_router.set_user_in_place(id text, user_id bigint,
        max_age interval, ip inet, user_agent text, aal smallint, amr text[]) RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
    TARGET varel_session.session_set_user;
$$;
CREATE FUNCTION varel_session_router.export(id text)
    RETURNS TABLE (data jsonb, handle bigint, created_at timestamptz, max_age interval,
                   ip inet, user_agent text)
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
    TARGET varel_session_shard.session_export;
$$;
CREATE FUNCTION varel_session_router.import(route integer, partitions integer,
        user_id bigint, max_age interval, ip inet, user_agent text, data jsonb, handle bigint,
        created_at timestamptz, aal smallint, amr text[])
    RETURNS text
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON route;
    TARGET varel_session_shard.session_import;
$$;
CREATE FUNCTION varel_session_router.discard(id text) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
    TARGET varel_session_shard.session_discard;
$$;

-- A new session: a logged-in one on its user's home partition; an anonymous one on a random
-- partition, or on the next ones when its node cannot be reached (PL/Proxy's XX000), so new
-- visitors still get sessions while a node is down.
CREATE FUNCTION varel_session.session_new(max_age interval DEFAULT NULL,
        user_id bigint DEFAULT NULL, data jsonb DEFAULT '{}'::pg_catalog.jsonb,
        ip inet DEFAULT NULL, user_agent text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    partitions integer := varel_session_router.partitions();
    first integer := pg_catalog.floor(pg_catalog.random() * partitions)::integer;
BEGIN
    IF user_id IS NOT NULL THEN
        RETURN varel_session_router.new_on(varel_session_router.home(user_id), partitions,
                                           max_age, user_id, data, ip, user_agent);
    END IF;
    FOR attempt IN 0 .. partitions - 1 LOOP
        BEGIN
            RETURN varel_session_router.new_on((first + attempt) % partitions, partitions,
                                               max_age, user_id, data, ip, user_agent);
        EXCEPTION WHEN internal_error THEN
            IF attempt = partitions - 1 THEN
                RAISE;
            END IF;
        END;
    END LOOP;
END
$$;

-- Log-in. A session already on its user's home partition logs in where it is (the node's own
-- session_set_user). Otherwise it moves there, in an order that is safe when a step fails:
--   1. rotate it where it is (only one of concurrent log-ins of one token gets on, and the old
--      token stops working: a failure after this leaves no session with more rights than the
--      anonymous one had, at worst a logged-out client);
--   2. read it under the new, unpublished token;
--   3. create the copy on the home partition, logged in (the node applies the per-user cap
--      under the user's lock, as every log-in of this user lands there);
--   4. end the source. If it was already gone, a revoke or destroy ran meanwhile (on one
--      server it would have come first): the copy is ended too and the log-in returns NULL. If
--      this step fails, the source stays as an orphan nobody holds the token of (it expires)
--      and the log-in still succeeds.
-- Each remote step commits on its own: the router's transaction cannot undo one.
CREATE FUNCTION varel_session.session_set_user(id text, user_id bigint,
        max_age interval DEFAULT NULL, ip inet DEFAULT NULL, user_agent text DEFAULT NULL,
        aal smallint DEFAULT NULL, amr text[] DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mask integer := varel_session_router.partitions() - 1;
    home integer := varel_session_router.home(user_id);
    moving text;
    copied record;
    token text;
BEGIN
    IF NOT varel_session_router.is_token(id) OR user_id IS NULL THEN
        -- The node's answer for such arguments (NULL, or its error for a NULL user).
        RETURN varel_session_router.set_user_in_place(id, user_id, max_age, ip, user_agent,
                                                      aal, amr);
    END IF;
    IF (varel_session_router.route(id) & mask) = (home & mask) THEN
        RETURN varel_session_router.set_user_in_place(id, user_id, max_age, ip, user_agent,
                                                      aal, amr);
    END IF;
    moving := varel_session.session_regenerate(id);
    IF moving IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO copied FROM varel_session_router.export(moving);
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    -- As an in-place log-in: a client given by either of ip and user_agent replaces both.
    IF ip IS NULL AND user_agent IS NULL THEN
        ip := copied.ip;
        user_agent := copied.user_agent;
    END IF;
    token := varel_session_router.import(home, mask + 1, user_id,
        coalesce(max_age, copied.max_age), ip, user_agent, copied.data, copied.handle,
        copied.created_at, aal, amr);
    BEGIN
        IF NOT varel_session_router.discard(moving) THEN
            PERFORM varel_session_router.discard(token);
            RETURN NULL;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    RETURN token;
END
$$;

------------------------------------------------------------------------------------------------
-- User-wide functions: on every node (a user's sessions from before a move, or from before
-- sharding, may live anywhere). RUN ON ALL runs once per partition; partitions that share a
-- node run it there more than once, which these are written to allow (the second run finds
-- nothing more to end; listings are made distinct by handle).

CREATE FUNCTION varel_session_router.user_sessions_all(user_id bigint)
    RETURNS TABLE (handle text, created_at timestamptz, updated_at timestamptz,
                   expires_at timestamptz, absolute_expires_at timestamptz, ip inet,
                   user_agent text, last_seen_at timestamptz)
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON ALL;
    TARGET varel_session.session_user_sessions;
$$;
CREATE FUNCTION varel_session.session_user_sessions(user_id bigint)
    RETURNS TABLE (handle text, created_at timestamptz, updated_at timestamptz,
                   expires_at timestamptz, absolute_expires_at timestamptz, ip inet,
                   user_agent text, last_seen_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    -- As a node orders them: newest first, then by handle as the number it is, descending.
    SELECT d.* FROM (SELECT DISTINCT * FROM varel_session_router.user_sessions_all(user_id)) AS d
    ORDER BY d.created_at DESC,
             ('x' OPERATOR(pg_catalog.||) d.handle)::bit(64)::bigint DESC
$$;

CREATE FUNCTION varel_session_router.revoke_all(user_id bigint, handle text)
    RETURNS SETOF boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON ALL;
    TARGET varel_session.session_revoke;
$$;
CREATE FUNCTION varel_session.session_revoke(user_id bigint, handle text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT pg_catalog.bool_or(r) FROM varel_session_router.revoke_all(user_id, handle) AS r);

CREATE FUNCTION varel_session_router.user_revoke_all(user_id bigint, except_id text)
    RETURNS SETOF bigint
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON ALL;
    TARGET varel_session.session_user_revoke;
$$;
CREATE FUNCTION varel_session.session_user_revoke(user_id bigint, except_id text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT pg_catalog.sum(n)::bigint FROM varel_session_router.user_revoke_all(user_id, except_id) AS n);

-- Back-channel logout: a provider's session may have logged in to sessions on any node.
CREATE FUNCTION varel_session.session_set_idp(id text, iss text, sid text DEFAULT NULL,
                                              sub text DEFAULT NULL) RETURNS boolean
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON varel_session_router.route(id);
$$;
CREATE FUNCTION varel_session_router.revoke_idp_all(iss text, sid text, sub text)
    RETURNS SETOF bigint
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON ALL;
    TARGET varel_session.session_revoke_idp;
$$;
CREATE FUNCTION varel_session.session_revoke_idp(iss text, sid text DEFAULT NULL,
                                                 sub text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT pg_catalog.sum(n)::bigint FROM varel_session_router.revoke_idp_all(iss, sid, sub) AS n);

CREATE FUNCTION varel_session_router.cleanup_all(batch_size integer) RETURNS SETOF bigint
    LANGUAGE plproxy AS $$
    CLUSTER 'varel_session'; RUN ON ALL;
    TARGET varel_session.session_cleanup;
$$;
-- Cleanup normally runs on each node (pg_cron there); this runs it on all at once.
CREATE FUNCTION varel_session.session_cleanup(batch_size integer DEFAULT 10000) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT pg_catalog.sum(n)::bigint FROM varel_session_router.cleanup_all(batch_size) AS n);

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session, varel_session_router FROM PUBLIC;
SELECT pg_catalog.format('GRANT USAGE ON SCHEMA varel_session TO %I', :'app_role') \gexec
SELECT pg_catalog.format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO %I',
                         :'app_role') \gexec
-- The per-request functions are PL/Proxy functions the application calls itself: it needs the
-- cluster and the route function they run on; the others are SECURITY DEFINER and reach the
-- cluster as their owner.
SELECT pg_catalog.format('GRANT USAGE ON FOREIGN SERVER varel_session TO %I', :'app_role') \gexec
SELECT pg_catalog.format('GRANT USAGE ON SCHEMA varel_session_router TO %I', :'app_role') \gexec
SELECT pg_catalog.format('GRANT EXECUTE ON FUNCTION varel_session_router.route(text), varel_session_router.is_token(text), varel_session_router.is_framework_id(text) TO %I', :'app_role') \gexec
COMMIT;
