-- Run after ALTER EXTENSION varel_session UPDATE: every session recorded by before.sql is
-- still there with its data, user and deadlines, the dead ones are still dead, and the API
-- works on the old sessions. Fails (ON_ERROR_STOP) on the first difference.
\set ON_ERROR_STOP on
DO $$
DECLARE
    u record;
    s record;
BEGIN
    FOR u IN SELECT * FROM upgrade_check LOOP
        SELECT * INTO s FROM varel_session.session_get(u.token);
        IF u.live THEN
            ASSERT FOUND, format('session %s is gone after the upgrade', u.name);
            ASSERT s.data = u.data AND s.user_id IS NOT DISTINCT FROM u.user_id
                   AND s.created_at = u.created_at AND s.expires_at = u.expires_at
                   AND s.absolute_expires_at IS NOT DISTINCT FROM u.absolute_expires_at,
                   format('session %s changed in the upgrade: %s', u.name, row_to_json(s));
        ELSE
            ASSERT NOT FOUND, format('session %s came back in the upgrade', u.name);
        END IF;
    END LOOP;
END
$$;
SELECT name FROM upgrade_check WHERE live ORDER BY name;
-- Old tokens keep working with every kind of call.
SELECT varel_session.session_set(token, 'after', 'upgrade') AS set_works FROM upgrade_check WHERE name = 'anonymous';
UPDATE upgrade_check SET token = varel_session.session_set_user(token, 505) WHERE name = 'anonymous';
SELECT s.data, s.user_id FROM upgrade_check u, varel_session.session_load(u.token) s WHERE u.name = 'anonymous';
SELECT count(*) AS listed FROM varel_session.session_user_sessions(502);
SELECT varel_session.session_destroy(token) AS destroy_works FROM upgrade_check WHERE name = 'logged_in';
-- What the new version adds works on the upgraded database: a session under a framework id.
SELECT varel_session.session_adopt('dXBncmFkZWQtZGF0YWJhc2UtYWRvcHRz', data => '{"new": true}') AS adopt_works;
SELECT data FROM varel_session.session_get('dXBncmFkZWQtZGF0YWJhc2UtYWRvcHRz');
-- 0.4.0: a session imported from another store, claimed by its old id once.
SELECT varel_session.session_import('django', 'upgradedoldsessionid', '{"imported": true}',
                                    now() + interval '1 day', user_id => 506) AS import_works;
SELECT id IS NOT NULL AS claim_works, data, user_id
FROM varel_session.session_claim('django', 'upgradedoldsessionid');
SELECT count(*) AS claimed_twice FROM varel_session.session_claim('django', 'upgradedoldsessionid');
-- 0.4.0: the authentication context on an upgraded session, and a step-up.
UPDATE upgrade_check SET token = varel_session.session_set_user(token, 505, aal => 2::smallint,
                                                                amr => '{pwd,otp}') WHERE name = 'anonymous';
SELECT s.aal, s.amr, varel_session.session_auth_recent(u.token, '1 minute', 2::smallint) AS recent
FROM upgrade_check u, varel_session.session_load(u.token) s WHERE u.name = 'anonymous';
UPDATE upgrade_check SET token = varel_session.session_reauthenticate(token, 3::smallint) WHERE name = 'anonymous';
DO $$
BEGIN
    ASSERT (SELECT s.aal FROM upgrade_check u, varel_session.session_get(u.token) s
            WHERE u.name = 'anonymous') = 3, 'session_reauthenticate works after the upgrade';
END
$$;
