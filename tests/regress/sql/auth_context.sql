-- The authentication context (src/auth_context.rs): a log-in records its time, assurance level
-- and methods; session_reauthenticate renews them; session_auth_recent asks them; with
-- varel_session.aal_timeouts the level caps the deadlines (NIST SP 800-63B-4).
CREATE TEMPORARY TABLE t (name text PRIMARY KEY, token text);
INSERT INTO t VALUES ('a', varel_session.session_new()), ('b', varel_session.session_new()),
                     ('anon', varel_session.session_new());
CREATE TEMPORARY VIEW ctx AS
SELECT t.name, s.authenticated_at, s.aal, s.amr, s.expires_at, s.absolute_expires_at, s.max_age
FROM t JOIN varel_session.sessions s ON s.token_hash = varel_session_internal.token_hash(t.token);

-- Anonymous: nothing recorded, and session_get and session_load say so.
SELECT authenticated_at, aal, amr FROM t, varel_session.session_get(token) WHERE name = 'anon';
SELECT authenticated_at, aal, amr FROM t, varel_session.session_load(token) WHERE name = 'anon';

-- A log-in that states no level is AAL1; one that does records its level and methods.
BEGIN;
UPDATE t SET token = varel_session.session_set_user(token, 7) WHERE name = 'a';
UPDATE t SET token = varel_session.session_set_user(token, 8, aal => 2::smallint,
                                                    amr => ARRAY['pwd', 'otp']) WHERE name = 'b';
SELECT name, authenticated_at = now() AS at_log_in, aal, amr FROM ctx WHERE name IN ('a', 'b') ORDER BY name;
SELECT name, g.authenticated_at = now() AS get_at, g.aal AS get_aal, g.amr AS get_amr,
       l.aal AS load_aal, l.amr AS load_amr
FROM t, varel_session.session_get(token) g, varel_session.session_load(token) l
WHERE name IN ('a', 'b') ORDER BY name;
COMMIT;

-- What a log-in cannot record: a programmer's mistake, whatever the token.
SELECT varel_session.session_set_user(token, 9, aal => 0::smallint) FROM t WHERE name = 'anon';
SELECT varel_session.session_set_user(token, 9, aal => 4::smallint) FROM t WHERE name = 'anon';
SELECT varel_session.session_set_user('not a token', 9, aal => 4::smallint);
SELECT varel_session.session_set_user(token, 9, amr => ARRAY[['pwd'], ['otp']]) FROM t WHERE name = 'anon';
SELECT varel_session.session_set_user(token, 9, amr => ARRAY['pwd', NULL]) FROM t WHERE name = 'anon';
SELECT varel_session.session_set_user(token, 9, amr => array_fill('x'::text, ARRAY[200])) FROM t WHERE name = 'anon';
SELECT aal IS NULL AS anon_still_anonymous FROM ctx WHERE name = 'anon';
-- An empty list of methods is a list.
BEGIN;
UPDATE t SET token = varel_session.session_set_user(token, 9, amr => '{}') WHERE name = 'anon';
SELECT aal, amr FROM ctx WHERE name = 'anon';
ROLLBACK;

-- May this request do a sensitive operation?
SELECT varel_session.session_auth_recent(token, interval '5 minutes') AS recent,
       varel_session.session_auth_recent(token, interval '5 minutes', 2::smallint) AS recent_aal2
FROM t WHERE name = 'a';
SELECT varel_session.session_auth_recent(token, interval '5 minutes', 2::smallint) AS recent_aal2,
       varel_session.session_auth_recent(token, interval '5 minutes', 3::smallint) AS recent_aal3
FROM t WHERE name = 'b';
UPDATE varel_session.sessions SET authenticated_at = now() - interval '10 minutes'
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'b');
SELECT varel_session.session_auth_recent(token, interval '5 minutes', 2::smallint) AS within_5_minutes,
       varel_session.session_auth_recent(token, interval '1 hour', 2::smallint) AS within_an_hour
FROM t WHERE name = 'b';
-- No session, or no user: false.
SELECT varel_session.session_auth_recent(token, interval '1 hour') AS anonymous FROM t WHERE name = 'anon';
SELECT varel_session.session_auth_recent(repeat('0', 64), interval '1 hour') AS unknown,
       varel_session.session_auth_recent('not a token', interval '1 hour') AS malformed,
       varel_session.session_auth_recent(NULL, interval '1 hour') AS null_token;
-- The caller's mistakes.
SELECT varel_session.session_auth_recent(token, NULL) FROM t WHERE name = 'a';
SELECT varel_session.session_auth_recent(token, interval '-1 minute') FROM t WHERE name = 'a';
SELECT varel_session.session_auth_recent(token, interval '1 hour', NULL) FROM t WHERE name = 'a';
SELECT varel_session.session_auth_recent(token, interval '1 hour', 5::smallint) FROM t WHERE name = 'a';

-- Re-authentication: a new token, the time and both deadlines restarted; the level raised when
-- given, the methods kept when not given.
UPDATE varel_session.sessions
SET absolute_expires_at = now() + interval '1 hour', expires_at = now() + interval '30 minutes'
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'b');
CREATE TEMPORARY TABLE before_reauth AS SELECT token AS old_token FROM t WHERE name = 'b';
BEGIN;
UPDATE t SET token = varel_session.session_reauthenticate(token, aal => 3::smallint) WHERE name = 'b';
SELECT token IS NOT NULL AND token <> old_token AS rotated,
       authenticated_at = now() AS renewed, aal, amr,
       absolute_expires_at = now() + interval '30 days' AS absolute_restarted,
       expires_at = now() + interval '24 hours' AS idle_restarted
FROM t, before_reauth, ctx WHERE t.name = 'b' AND ctx.name = 'b';
SELECT count(*) AS old_token_works FROM before_reauth, varel_session.session_get(old_token);
COMMIT;
SELECT varel_session.session_auth_recent(token, interval '5 minutes', 3::smallint) AS recent_aal3 FROM t WHERE name = 'b';
UPDATE t SET token = varel_session.session_reauthenticate(token, amr => ARRAY['hwk']) WHERE name = 'b';
SELECT aal, amr FROM ctx WHERE name = 'b';
-- No user: an ERROR, and the token still works; no session: NULL.
SELECT varel_session.session_reauthenticate(token) FROM t WHERE name = 'anon';
SELECT count(*) AS anon_token_works FROM t, varel_session.session_get(token) WHERE name = 'anon';
SELECT varel_session.session_reauthenticate(repeat('0', 64)) AS unknown,
       varel_session.session_reauthenticate('not a token') AS malformed;
SELECT varel_session.session_reauthenticate(token, aal => 9::smallint) FROM t WHERE name = 'b';

-- The administrator's listing by level.
SELECT user_id, aal, amr, authenticated_at IS NOT NULL AS authenticated
FROM varel_session.session_list(only_aal => 3::smallint);
SELECT count(*) AS aal1 FROM varel_session.session_list(only_aal => 1::smallint);
\set VERBOSITY terse
SELECT * FROM varel_session.session_list(only_aal => 0::smallint);
\set VERBOSITY default

-- A log-out forgets the context.
UPDATE t SET token = varel_session.session_clear_user(token) WHERE name = 'a';
SELECT authenticated_at, aal, amr FROM ctx WHERE name = 'a';

-- varel_session.aal_timeouts: the level caps both deadlines, and the session's own stricter
-- lifetime is kept. The session's max_age stays as given: the cap applies while the level
-- stands. Off (the default), nothing is capped.
INSERT INTO t VALUES ('aal1', varel_session.session_new()), ('aal2', varel_session.session_new()),
                     ('aal3', varel_session.session_new()), ('strict', varel_session.session_new()),
                     ('off', varel_session.session_new());
SET varel_session.aal_timeouts = on;
BEGIN;
UPDATE t SET token = varel_session.session_set_user(token, 10, max_age => interval '30 days',
                                                    aal => 1::smallint) WHERE name = 'aal1';
UPDATE t SET token = varel_session.session_set_user(token, 11, max_age => interval '30 days',
                                                    aal => 2::smallint) WHERE name = 'aal2';
UPDATE t SET token = varel_session.session_set_user(token, 12, aal => 3::smallint) WHERE name = 'aal3';
UPDATE t SET token = varel_session.session_set_user(token, 13, max_age => interval '10 minutes',
                                                    aal => 2::smallint) WHERE name = 'strict';
SELECT name, max_age, absolute_expires_at - now() AS overall, expires_at - now() AS idle
FROM ctx WHERE name IN ('aal1', 'aal2', 'aal3', 'strict') ORDER BY name;
COMMIT;
-- A longer lifetime later ("remember me") is capped too, and so are touches and slides.
SELECT varel_session.session_set_max_age(token, interval '1 day') - now() AS set_max_age_idle
FROM t WHERE name = 'aal3';
SELECT varel_session.session_touch(token) - now() AS touch_idle FROM t WHERE name = 'aal3';
UPDATE varel_session.sessions SET expires_at = now() + interval '1 minute'
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'aal3');
SELECT expires_at - now() AS load_idle FROM t, varel_session.session_load(token) WHERE name = 'aal3';
-- Re-authenticating at a higher level tightens them.
BEGIN;
UPDATE t SET token = varel_session.session_reauthenticate(token, aal => 3::smallint) WHERE name = 'aal2';
SELECT max_age, absolute_expires_at - now() AS overall, expires_at - now() AS idle FROM ctx WHERE name = 'aal2';
COMMIT;
-- A log-out gives the session its own lifetime back (within the absolute deadline of its
-- last log-in, 12 hours at AAL3) at its next slide; so does turning the setting off.
UPDATE t SET token = varel_session.session_clear_user(token) WHERE name = 'aal3';
SELECT varel_session.session_touch(token) - now() > interval '15 minutes' AS longer_after_log_out
FROM t WHERE name = 'aal3';
SELECT varel_session.session_touch(token) - now() AS still_capped FROM t WHERE name = 'aal2';
RESET varel_session.aal_timeouts;
SELECT varel_session.session_touch(token) - now() > interval '15 minutes' AS longer_when_off
FROM t WHERE name = 'aal2';
BEGIN;
UPDATE t SET token = varel_session.session_set_user(token, 14, max_age => interval '30 days',
                                                    aal => 3::smallint) WHERE name = 'off';
SELECT max_age, absolute_expires_at - now() AS overall, expires_at - now() AS idle FROM ctx WHERE name = 'off';
COMMIT;
