-- A session's life, as an application would live it, one request at a time.
\pset footer off
\set QUIET on

\echo '1. a visitor arrives: create an anonymous session (the token goes into a cookie)'
SELECT varel_session.session_new(ip => '203.0.113.7', user_agent => 'demo-browser/1.0') AS token \gset
SELECT length(:'token') AS token_length, :'token' ~ '^[0-9a-f]{64}$' AS is_hex;

\echo '2. next request: load the session once, and remember something in it'
SELECT data, user_id, expires_at - created_at AS lifetime FROM varel_session.session_load(:'token');
SELECT varel_session.session_set(:'token', 'cart', '3 items') AS saved;
SELECT varel_session.session_get(:'token', 'cart') AS cart;

\echo '3. the visitor logs in as user 42: the token rotates (against session fixation)'
SELECT varel_session.session_set_user(:'token', 42) AS logged_in \gset
SELECT varel_session.session_get(:'token', 'cart') IS NULL AS old_token_stopped_working;
SELECT data, user_id FROM varel_session.session_get(:'logged_in');

\echo '4. the table stores only a SHA-256 of each token, never the token'
SELECT encode(token_hash, 'hex') = encode(sha256(decode(:'logged_in', 'hex')), 'hex') AS stored_is_hash,
       encode(token_hash, 'hex') <> :'logged_in' AS token_not_stored
FROM varel_session.sessions WHERE user_id = 42 ORDER BY created_at DESC LIMIT 1;

\echo '5. log out: destroy the session; the token is now worthless'
SELECT varel_session.session_destroy(:'logged_in') AS destroyed;
SELECT count(*) AS rows_for_old_token FROM varel_session.session_get(:'logged_in');
