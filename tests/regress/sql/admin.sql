-- Administration across all users (sql/admin.sql): a paginated listing of live sessions that
-- never shows tokens, and ending every session, in one statement or in committed batches.
-- Both are the owner's only. Errors are shown without PL/pgSQL CONTEXT lines (both editions).
\set SHOW_CONTEXT never
CREATE TEMPORARY TABLE t (name text PRIMARY KEY, token text);
INSERT INTO t VALUES
    ('anon1', varel_session.session_new()),
    ('anon2', varel_session.session_new()),
    ('anon3', varel_session.session_new(ip => '192.0.2.1', user_agent => 'curl/8')),
    ('user1', varel_session.session_new(user_id => 91)),
    ('user2', varel_session.session_new(user_id => 91)),
    ('expired', varel_session.session_new(user_id => 92));
UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'expired');
-- One created an hour ago (an administrator's UPDATE; the API never moves created_at).
UPDATE varel_session.sessions SET created_at = now() - interval '1 hour'
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'anon2');

-- The live sessions, in handle order, named by handle, never by token or hash.
SELECT count(*) AS listed,
       count(DISTINCT handle) AS handles,
       bool_and(handle ~ '^[0-9a-f]{16}$') AS handle_form,
       count(*) FILTER (WHERE user_id = 91) AS of_user_91,
       count(*) FILTER (WHERE user_id = 92) AS expired_listed,
       count(*) FILTER (WHERE user_agent = 'curl/8' AND ip = '192.0.2.1') AS with_client
FROM varel_session.session_list();
SELECT array_agg(handle) = array_agg(handle ORDER BY handle COLLATE "C") AS in_handle_order
FROM varel_session.session_list();
SELECT count(*) AS tokens_shown
FROM varel_session.session_list() l, t
WHERE to_jsonb(l)::text LIKE '%' || t.token || '%'
   OR to_jsonb(l)::text LIKE '%' || encode(varel_session_internal.token_hash(t.token), 'hex') || '%';
SELECT pg_get_function_result('varel_session.session_list(bigint, timestamptz, smallint, text, integer)'::regprocedure) AS result;

-- Filters: one user, created before a time.
SELECT count(*) AS of_91 FROM varel_session.session_list(only_user => 91);
SELECT count(*) AS of_92 FROM varel_session.session_list(only_user => 92);
SELECT l.handle = varel_session.session_handle(t.token) AS the_old_one
FROM varel_session.session_list(created_before => now() - interval '30 minutes') l, t
WHERE t.name = 'anon2';

-- Pages of two: together every live session once, each page after the last one's handle.
CREATE TEMPORARY TABLE pages AS
WITH RECURSIVE page(n, handles) AS (
    SELECT 1, ARRAY(SELECT handle FROM varel_session.session_list(max_rows => 2))
    UNION ALL
    SELECT n + 1, ARRAY(SELECT handle FROM varel_session.session_list(
                            after_handle => handles[array_length(handles, 1)], max_rows => 2))
    FROM page WHERE array_length(handles, 1) = 2
)
SELECT n, handles FROM page;
SELECT n, array_length(handles, 1) AS rows_on_page FROM pages ORDER BY n;
SELECT ARRAY(SELECT h FROM pages, unnest(handles) h ORDER BY n, h COLLATE "C")
       = ARRAY(SELECT handle FROM varel_session.session_list()) AS pages_cover_all;

-- Programmer's mistakes are errors.
SELECT * FROM varel_session.session_list(max_rows => 0);
SELECT * FROM varel_session.session_list(max_rows => 10001);
SELECT * FROM varel_session.session_list(max_rows => NULL);
SELECT * FROM varel_session.session_list(after_handle => 'not a handle');
SELECT * FROM varel_session.session_list(after_handle => 'ABCDEF0123456789');

-- Everyone out: the live sessions and the imported ones not claimed yet, counted.
SELECT varel_session.session_import('django', 'adminoldsessionkeyfromdjango0001', '{"x": 1}',
           now() + interval '1 day', user_id => 93) AS imported;
SELECT varel_session.session_revoke_all() AS ended;
SELECT count(*) AS sessions_left FROM varel_session.sessions;
SELECT count(*) AS working FROM t, varel_session.session_get(t.token) s;
SELECT count(*) AS claimed FROM varel_session.session_claim('django', 'adminoldsessionkeyfromdjango0001');
SELECT varel_session.session_revoke_all() AS ended_again;

-- In batches that commit: 300 sessions in many blocks, batches of about 20 rows.
INSERT INTO t SELECT 'batch' || i, varel_session.session_new(data => jsonb_build_object('pad', repeat('x', 500)))
FROM generate_series(1, 300) i;
ANALYZE varel_session.sessions;
CALL varel_session.session_revoke_all_run(batch_size => 20);
SELECT count(*) AS sessions_left FROM varel_session.sessions;
CALL varel_session.session_revoke_all_run();
CALL varel_session.session_revoke_all_run(batch_size => 0);

-- An application role granted the whole API can neither list nor end everyone's sessions.
CREATE ROLE varel_admin_app;
GRANT USAGE ON SCHEMA varel_session TO varel_admin_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO varel_admin_app;
INSERT INTO t VALUES ('survivor', varel_session.session_new());
SET ROLE varel_admin_app;
\set VERBOSITY terse
SELECT count(*) FROM varel_session.session_list();
SELECT varel_session.session_revoke_all();
CALL varel_session.session_revoke_all_run();
\set VERBOSITY default
RESET ROLE;
SELECT count(*) AS survivor_works FROM t, varel_session.session_get(t.token) s WHERE t.name = 'survivor';
REVOKE ALL ON SCHEMA varel_session FROM varel_admin_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_admin_app;
DROP ROLE varel_admin_app;
SELECT varel_session.session_revoke_all() AS cleaned_up;
TRUNCATE varel_session.imported_sessions;
