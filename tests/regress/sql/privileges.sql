-- Nothing in the extension is reachable by default.
CREATE ROLE varel_regress_plain;
CREATE ROLE varel_regress_app;
GRANT USAGE ON SCHEMA varel_session TO varel_regress_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO varel_regress_app;

-- PUBLIC has no privileges on the table, and none on any function.
SELECT array_agg(DISTINCT a.grantee::regrole::text) AS grantees
FROM pg_class AS c, aclexplode(c.relacl) AS a WHERE c.oid = 'varel_session.sessions'::regclass;
SELECT count(*) AS functions_public_can_execute
FROM pg_proc p
WHERE p.pronamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
  AND has_function_privilege('public', p.oid, 'EXECUTE');

-- The two documented grants give exactly the API: nothing in the internal schema.
SELECT has_schema_privilege('varel_regress_app', 'varel_session_internal', 'USAGE') AS internal_usage,
       count(*) FILTER (WHERE has_function_privilege('varel_regress_app', p.oid, 'EXECUTE'))
           AS internal_functions_app_can_execute
FROM pg_proc p WHERE p.pronamespace = 'varel_session_internal'::regnamespace;

-- A plain role can neither read the table nor call the API.
SET ROLE varel_regress_plain;
SELECT * FROM varel_session.sessions;
SELECT varel_session.session_new();
RESET ROLE;
GRANT USAGE ON SCHEMA varel_session TO varel_regress_plain;
SET ROLE varel_regress_plain;
SELECT count(*) FROM varel_session.sessions;
SELECT varel_session.session_new();
SELECT * FROM varel_session.session_get(repeat('a', 64));
RESET ROLE;

-- The application role, with the two documented grants, uses the API but not the table.
SET ROLE varel_regress_app;
SELECT varel_session.session_new() AS token \gset
SELECT varel_session.session_set(:'token', 'role', current_user) AS set;
SELECT data FROM varel_session.session_get(:'token');
SELECT count(*) FROM varel_session.sessions;
UPDATE varel_session.sessions SET data = '{}';
DELETE FROM varel_session.sessions;
SELECT varel_session.session_destroy(:'token') AS destroyed;
SELECT varel_session_internal.token_hash(repeat('a', 64));

-- Every function of the API works for the application role with those grants alone.
SELECT varel_session.session_new(user_id => 990001, data => '{"n": 1}') AS u \gset
SELECT length(varel_session.session_generate_id()) AS generate_id,
       (SELECT count(*) FROM varel_session.session_get(:'u')) AS get,
       (SELECT count(*) FROM varel_session.session_load(:'u')) AS load,
       varel_session.session_get(:'u', 'n') AS get_key,
       varel_session.session_set(:'u', 'k', 'v') AS set_key,
       varel_session.session_set(:'u', '{"p": 1}') AS set_patch,
       varel_session.session_unset(:'u', 'p') AS unset,
       varel_session.session_incr(:'u', 'c') AS incr,
       varel_session.session_push(:'u', 'l', '1', 5) AS push,
       varel_session.session_take(:'u', 'l') AS take,
       varel_session.session_set_if(:'u', 'c', '1', '2') AS set_if,
       varel_session.session_touch(:'u') IS NOT NULL AS touch,
       varel_session.session_set_max_age(:'u', '2 hours') IS NOT NULL AS set_max_age,
       varel_session.session_handle(:'u') IS NOT NULL AS handle;
SELECT varel_session.session_set_data(:'u', '{"n": 2}') AS set_data,
       varel_session.session_clear(:'u') AS clear;
SELECT varel_session.session_regenerate(:'u') AS u \gset
SELECT varel_session.session_set_user(:'u', 990001) AS u \gset
SELECT (SELECT count(*) FROM varel_session.session_user_sessions(990001)) AS user_sessions,
       varel_session.session_revoke(990001, '0000000000000000') AS revoke_unknown,
       varel_session.session_user_revoke(990001, :'u') AS user_revoke,
       (SELECT count(*) FROM varel_session.session_stats()) AS stats;
SELECT varel_session.session_clear_user(:'u') AS u \gset
SELECT varel_session.session_destroy(:'u') AS destroyed;
RESET ROLE;

REVOKE ALL ON SCHEMA varel_session FROM varel_regress_plain, varel_regress_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_regress_app;
DROP ROLE varel_regress_plain;
DROP ROLE varel_regress_app;
