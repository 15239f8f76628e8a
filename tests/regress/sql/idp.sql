-- Back-channel logout (sql/idp.sql): a log-in through an identity provider records its iss,
-- sid and sub for the session; the provider's logout token ends the sessions it names, by sid,
-- or by sub for all of the subject's. Errors without PL/pgSQL CONTEXT lines (both editions).
\set SHOW_CONTEXT never
CREATE TEMPORARY TABLE test_start AS SELECT clock_timestamp() AS started;
CREATE TEMPORARY TABLE t (name text PRIMARY KEY, token text);
INSERT INTO t SELECT name, varel_session.session_new()
FROM unnest(ARRAY['laptop', 'phone', 'other_user', 'password_login', 'anonymous']) AS name;
UPDATE t SET token = varel_session.session_set_user(token, CASE name WHEN 'other_user' THEN 9102 ELSE 9101 END)
WHERE name <> 'anonymous';

SELECT varel_session.session_set_idp(token, 'https://idp.example', 'sid-laptop', 'sub-a') AS laptop,
       (SELECT varel_session.session_set_idp(token, 'https://idp.example', 'sid-phone', 'sub-a')
        FROM t WHERE name = 'phone') AS phone,
       (SELECT varel_session.session_set_idp(token, 'https://idp.example', 'sid-other', 'sub-b')
        FROM t WHERE name = 'other_user') AS other_user
FROM t WHERE name = 'laptop';
-- Recorded by handle and user, never by token.
SELECT count(*) AS records,
       count(*) FILTER (WHERE l.handle = (SELECT s.handle FROM varel_session.sessions s, t
                                          WHERE t.name = 'laptop'
                                            AND s.token_hash = varel_session_internal.token_hash(t.token))) AS laptops
FROM varel_session.idp_logins l;
SELECT count(*) AS tokens_stored FROM varel_session.idp_logins l, t
WHERE l::text LIKE '%' || t.token || '%';

-- Untrusted tokens are no session; a session without a user and missing claims are mistakes.
SELECT varel_session.session_set_idp(repeat('0', 64), 'https://idp.example', 'sid-x') AS unknown,
       varel_session.session_set_idp('not a token', 'https://idp.example', 'sid-x') AS malformed,
       varel_session.session_set_idp(NULL, 'https://idp.example', 'sid-x') AS null_token;
SELECT varel_session.session_set_idp(token, 'https://idp.example', 'sid-anon') FROM t WHERE name = 'anonymous';
SELECT varel_session.session_set_idp(token, NULL, 'sid-x') FROM t WHERE name = 'laptop';
SELECT varel_session.session_set_idp(token, 'https://idp.example') FROM t WHERE name = 'laptop';
SELECT varel_session.session_set_idp(token, 'https://idp.example', repeat('s', 2049)) FROM t WHERE name = 'laptop';
SELECT varel_session.session_revoke_idp('https://idp.example');
SELECT varel_session.session_revoke_idp(NULL, 'sid-laptop');

-- A rotation keeps the record (the handle is stable): the logout of the laptop's provider
-- session ends the laptop's session under its new token, and nothing else.
UPDATE t SET token = varel_session.session_regenerate(token) WHERE name = 'laptop';
SELECT varel_session.session_revoke_idp('https://idp.example', sid => 'sid-laptop') AS ended;
SELECT t.name, count(s.*) AS live FROM t LEFT JOIN LATERAL varel_session.session_get(t.token) s ON true
GROUP BY t.name ORDER BY t.name;
-- Another provider, or a sid it does not know: nothing.
SELECT varel_session.session_revoke_idp('https://other-idp.example', sid => 'sid-phone') AS other_issuer,
       varel_session.session_revoke_idp('https://idp.example', sid => 'sid-unknown') AS unknown_sid;
-- Only a sub: every session of that subject (the phone; the laptop is gone already).
SELECT varel_session.session_revoke_idp('https://idp.example', sub => 'sub-a') AS ended_by_sub;
SELECT t.name, count(s.*) AS live FROM t LEFT JOIN LATERAL varel_session.session_get(t.token) s ON true
GROUP BY t.name ORDER BY t.name;

-- A session logged out locally is no longer the provider's user's: the logout leaves it.
UPDATE t SET token = varel_session.session_clear_user(token) WHERE name = 'other_user';
SELECT varel_session.session_revoke_idp('https://idp.example', sid => 'sid-other') AS ended_after_local_logout;
SELECT count(*) AS still_live FROM t, varel_session.session_get(t.token) s WHERE t.name = 'other_user';

-- Cleanup removes the records of sessions that ended.
SELECT varel_session.session_new() AS token \gset
SELECT varel_session.session_set_user(:'token', 9103) AS token \gset
SELECT varel_session.session_set_idp(:'token', 'https://idp.example', 'sid-gone') AS recorded;
SELECT varel_session.session_destroy(:'token') AS destroyed;
SELECT varel_session.session_cleanup() >= 0 AS cleaned;
SELECT count(*) AS records_left FROM varel_session.idp_logins;

-- An application role granted the API may record and revoke (its logout endpoint does).
CREATE ROLE varel_idp_app;
GRANT USAGE ON SCHEMA varel_session TO varel_idp_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO varel_idp_app;
SET ROLE varel_idp_app;
SELECT varel_session.session_new() AS app_token \gset
SELECT varel_session.session_set_user(:'app_token', 9104) AS app_token \gset
SELECT varel_session.session_set_idp(:'app_token', 'https://idp.example', 'sid-app') AS app_recorded;
SELECT varel_session.session_revoke_idp('https://idp.example', 'sid-app') AS app_revoked;
RESET ROLE;
REVOKE ALL ON SCHEMA varel_session FROM varel_idp_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_idp_app;
DROP ROLE varel_idp_app;
DELETE FROM varel_session.sessions WHERE created_at >= (SELECT started FROM test_start);
TRUNCATE varel_session.idp_logins;
