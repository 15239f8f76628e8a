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
RESET ROLE;

REVOKE ALL ON SCHEMA varel_session FROM varel_regress_plain, varel_regress_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_regress_app;
DROP ROLE varel_regress_plain;
DROP ROLE varel_regress_app;
