-- The SQL edition's policy lives in varel_session.settings, which only the owner can change.
-- Without a shared library, SET varel_session.* creates a placeholder anyone may set; such a
-- setting counts only in a superuser's session, so an application role cannot loosen policy.
\set VERBOSITY terse
CREATE ROLE varel_policy_app;
GRANT USAGE ON SCHEMA varel_session TO varel_policy_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO varel_policy_app;

SELECT max_age, absolute_timeout, max_data_bytes, max_sessions_per_user, events, events_channel
FROM varel_session.settings;

-- The owner changes policy with UPDATE; the functions follow at once.
UPDATE varel_session.settings SET max_age = '2 hours', max_data_bytes = 100;
SELECT varel_session.session_new() AS t \gset
SELECT expires_at - created_at AS idle_lifetime FROM varel_session.session_get(:'t');
SELECT varel_session.session_set(:'t', 'k', repeat('x', 200));

-- Out-of-range policy is refused by the table's constraints.
UPDATE varel_session.settings SET max_data_bytes = 0;
UPDATE varel_session.settings SET max_age = '0';
INSERT INTO varel_session.settings DEFAULT VALUES;

-- The application role can neither read nor change the table...
SET ROLE varel_policy_app;
SELECT * FROM varel_session.settings;
UPDATE varel_session.settings SET max_data_bytes = 1000000;
-- ...and its SET of a varel_session.* setting is accepted by PostgreSQL but ignored.
SET varel_session.max_data_bytes = '100MB';
SET varel_session.max_age = '100 years';
SET varel_session.max_sessions_per_user = 0;
SELECT varel_session.session_new() AS u \gset
SELECT expires_at - created_at AS idle_lifetime_for_app FROM varel_session.session_get(:'u');
SELECT varel_session.session_set(:'u', 'k', repeat('x', 200));
RESET ROLE;

-- The per-user cap from the table holds whatever the app role sets.
UPDATE varel_session.settings SET max_sessions_per_user = 1;
SET ROLE varel_policy_app;
SELECT varel_session.session_new(user_id => 5) IS NOT NULL AS first,
       varel_session.session_new(user_id => 5) IS NOT NULL AS second;
SELECT count(*) AS live_sessions_of_5 FROM varel_session.session_user_sessions(5);
RESET varel_session.max_data_bytes;
RESET varel_session.max_age;
RESET varel_session.max_sessions_per_user;
RESET ROLE;

-- A superuser's SET overrides the table for that session only (how the shared tests and an
-- administrator try a value).
SET varel_session.max_age = '15min';
SELECT varel_session.session_new() AS s \gset
SELECT expires_at - created_at AS superuser_override FROM varel_session.session_get(:'s');
RESET varel_session.max_age;

UPDATE varel_session.settings SET max_age = DEFAULT, max_data_bytes = DEFAULT,
    max_sessions_per_user = DEFAULT;
SELECT varel_session.session_user_revoke(5);
SELECT varel_session.session_destroy(:'t') AND varel_session.session_destroy(:'u')
       AND varel_session.session_destroy(:'s') AS destroyed;
REVOKE ALL ON SCHEMA varel_session FROM varel_policy_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_policy_app;
DROP ROLE varel_policy_app;
