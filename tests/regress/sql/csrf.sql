-- CSRF tokens bound to the session (sql/csrf.sql): derived from the token, so they change when
-- it rotates; verified in one call; no session means NULL and false.
CREATE TEMPORARY TABLE test_start AS SELECT clock_timestamp() AS started;
CREATE TEMPORARY TABLE t (name text PRIMARY KEY, token text);
INSERT INTO t VALUES ('a', varel_session.session_new()), ('b', varel_session.session_new());

SELECT varel_session.session_csrf_token(token) ~ '^[0-9a-f]{64}$' AS csrf_form,
       varel_session.session_csrf_token(token) = varel_session.session_csrf_token(token) AS stable
FROM t WHERE name = 'a';
-- Not the token, not the stored hash, not another session's.
SELECT varel_session.session_csrf_token(a.token) <> a.token AS not_the_token,
       varel_session.session_csrf_token(a.token) <> encode(s.token_hash, 'hex') AS not_the_hash,
       varel_session.session_csrf_token(a.token) <> varel_session.session_csrf_token(b.token) AS per_session
FROM t a, t b, varel_session.sessions s
WHERE a.name = 'a' AND b.name = 'b' AND s.token_hash = varel_session_internal.token_hash(a.token);

-- Verifying: the session's own token only.
SELECT varel_session.session_csrf_verify(a.token, varel_session.session_csrf_token(a.token)) AS own,
       varel_session.session_csrf_verify(a.token, varel_session.session_csrf_token(b.token)) AS other_sessions,
       varel_session.session_csrf_verify(a.token, upper(varel_session.session_csrf_token(a.token))) AS upper_case,
       varel_session.session_csrf_verify(a.token, left(varel_session.session_csrf_token(a.token), 63)) AS prefix,
       varel_session.session_csrf_verify(a.token, '') AS empty,
       varel_session.session_csrf_verify(a.token, NULL) AS null_candidate
FROM t a, t b WHERE a.name = 'a' AND b.name = 'b';

-- Rotation changes it: a form rendered before a log-in is refused after it.
CREATE TEMPORARY TABLE before_login AS
SELECT token AS old_token, varel_session.session_csrf_token(token) AS old_csrf FROM t WHERE name = 'a';
UPDATE t SET token = varel_session.session_set_user(token, 77) WHERE name = 'a';
SELECT varel_session.session_csrf_verify(t.token, b.old_csrf) AS old_form_after_login,
       varel_session.session_csrf_token(t.token) <> b.old_csrf AS changed,
       varel_session.session_csrf_verify(t.token, varel_session.session_csrf_token(t.token)) AS new_form,
       varel_session.session_csrf_token(b.old_token) IS NULL AS none_for_the_old_token,
       varel_session.session_csrf_verify(b.old_token, b.old_csrf) AS old_token_verifies
FROM t, before_login b WHERE t.name = 'a';

-- No session: unknown, malformed, NULL, destroyed, expired.
SELECT varel_session.session_csrf_token(repeat('0', 64)) AS unknown,
       varel_session.session_csrf_token('not a token') AS malformed,
       varel_session.session_csrf_token(NULL) AS null_token,
       varel_session.session_csrf_verify(NULL, NULL) AS verify_null,
       varel_session.session_csrf_verify('not a token',
           encode(sha256(convert_to('varel_session csrf token:not a token', 'UTF8')), 'hex')) AS verify_malformed;
SELECT varel_session.session_destroy(token) AS destroyed FROM t WHERE name = 'b';
SELECT varel_session.session_csrf_token(token) AS after_destroy FROM t WHERE name = 'b';
UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'a');
SELECT varel_session.session_csrf_token(token) AS after_expiry,
       varel_session.session_csrf_verify(token, varel_session_internal.csrf_token_for(token)) AS verify_after_expiry
FROM t WHERE name = 'a';

-- An application role granted the API may use both.
CREATE ROLE varel_csrf_app;
GRANT USAGE ON SCHEMA varel_session TO varel_csrf_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO varel_csrf_app;
SET ROLE varel_csrf_app;
SELECT varel_session.session_new() AS app_token \gset
SELECT varel_session.session_csrf_verify(:'app_token', varel_session.session_csrf_token(:'app_token')) AS app_verifies;
RESET ROLE;
REVOKE ALL ON SCHEMA varel_session FROM varel_csrf_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_csrf_app;
DROP ROLE varel_csrf_app;
DELETE FROM varel_session.sessions WHERE created_at >= (SELECT started FROM test_start);
