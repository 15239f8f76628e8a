-- Run on a database created at the old version (CREATE EXTENSION varel_session VERSION ...),
-- with the new library already installed: sessions of every kind are created and the whole API
-- is used, which also proves that a database still on the old SQL keeps working with the new
-- library until ALTER EXTENSION ... UPDATE. What each session should look like afterwards is
-- recorded in upgrade_check.
\set ON_ERROR_STOP on
SET varel_session.max_sessions_per_user = 3;
CREATE TABLE upgrade_check (name text PRIMARY KEY, token text, live boolean,
                            data jsonb, user_id bigint, created_at timestamptz,
                            expires_at timestamptz, absolute_expires_at timestamptz);

-- Anonymous, with data; logged in; several of one user; a short lifetime; expired.
INSERT INTO upgrade_check (name, token) VALUES
    ('anonymous', varel_session.session_new(data => '{"cart": [1, 2, 3]}')),
    ('logged_in', varel_session.session_new(user_id => 501, data => '{"theme": "dark"}', ip => '192.0.2.1', user_agent => 'old/1')),
    ('device_a', varel_session.session_new(user_id => 502)),
    ('device_b', varel_session.session_new(user_id => 502)),
    ('short', varel_session.session_new(max_age => '10 minutes')),
    ('expired', varel_session.session_new(max_age => '1 second')),
    ('revoked', varel_session.session_new(user_id => 503));
UPDATE varel_session.sessions SET expires_at = now() - interval '1 minute'
-- (The stored hash written out: the helper's schema differs between versions.)
WHERE token_hash = sha256(decode((SELECT token FROM upgrade_check WHERE name = 'expired'), 'hex'));

-- The API on the old SQL with the new library.
SELECT varel_session.session_set(token, 'k', 'v') AND varel_session.session_set(token, '{"p": 1}')
       AND varel_session.session_unset(token, 'k') AS writes_work
FROM upgrade_check WHERE name = 'anonymous';
SELECT count(*) = 1 AS load_works FROM upgrade_check, varel_session.session_load(token) WHERE name = 'short';
SELECT varel_session.session_touch(token) IS NOT NULL AS touch_works FROM upgrade_check WHERE name = 'short';
UPDATE upgrade_check SET token = varel_session.session_regenerate(token) WHERE name = 'device_a';
UPDATE upgrade_check SET token = varel_session.session_set_user(token, 504) WHERE name = 'short';
SELECT varel_session.session_user_revoke(503) AS revoked;
UPDATE upgrade_check SET live = false WHERE name IN ('expired', 'revoked');
SELECT count(*) AS listed FROM varel_session.session_user_sessions(502);
SELECT varel_session.session_handle(token) ~ '^[0-9a-f]{16}$' AS handle_works FROM upgrade_check WHERE name = 'logged_in';

-- What each live session must still be after the upgrade.
UPDATE upgrade_check u
SET (live, data, user_id, created_at, expires_at, absolute_expires_at) =
    (SELECT true, s.data, s.user_id, s.created_at, s.expires_at, s.absolute_expires_at
     FROM varel_session.session_get(u.token) s)
WHERE u.live IS NULL;
SELECT name, live FROM upgrade_check ORDER BY name;
