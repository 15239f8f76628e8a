-- A session's life through the router: the same calls as on one server (scripts/demo.sql).
\pset footer off
\set QUIET on

\echo '1. a visitor arrives: the router creates the session on a random partition'
SELECT varel_session.session_new(ip => '203.0.113.7', user_agent => 'demo-browser/1.0') AS token \gset
SELECT varel_session_router.route(:'token') & (varel_session_router.partitions() - 1) AS partition;

\echo '2. next request: load it and remember something, on the node its token routes to'
SELECT data, user_id FROM varel_session.session_load(:'token');
SELECT varel_session.session_set(:'token', 'cart', '3 items') AS saved;

\echo '3. log in as user 42: the session moves to the user''s home partition, with a new token'
SELECT varel_session.session_set_user(:'token', 42) AS logged_in \gset
SELECT varel_session_router.route(:'logged_in') & (varel_session_router.partitions() - 1) AS partition,
       varel_session_router.home(42) & (varel_session_router.partitions() - 1) AS home_of_user_42;
SELECT count(*) AS rows_for_old_token FROM varel_session.session_get(:'token');
SELECT data, user_id FROM varel_session.session_get(:'logged_in');

\echo '4. the user''s devices, from every node'
SELECT handle, user_agent FROM varel_session.session_user_sessions(42);

\echo '5. log out'
SELECT varel_session.session_destroy(:'logged_in') AS destroyed;
