-- Sessions imported from another store (sql/import.sql): stored under a hash of the old id,
-- claimed by the first request that presents it (a new token, the old id dead), never revived.
-- Errors are shown without their PL/pgSQL CONTEXT lines, the same in both editions.
\set SHOW_CONTEXT never
CREATE TEMPORARY TABLE claims (name text PRIMARY KEY, token text);
CREATE TEMPORARY TABLE test_start AS SELECT clock_timestamp() AS started;

SELECT varel_session.session_import('django', 'k3x9oldsessionkeyfromdjango00001', '{"cart": [1, 2]}',
           now() + interval '2 days', user_id => 41) AS imported,
       varel_session.session_import('django', 'k3x9oldsessionkeyfromdjango00002', '{"theme": "dark"}',
           now() + interval '2 days', max_age => '30 minutes') AS imported_anonymous;

-- Only a hash is stored, with a prefix and the store's name: never the old id.
SELECT count(*) AS stored_as_hash FROM varel_session.imported_sessions
WHERE id_hash = sha256(convert_to('varel_session imported id:django:k3x9oldsessionkeyfromdjango00001', 'UTF8'));
SELECT count(*) AS stored_in_clear FROM varel_session.imported_sessions
WHERE position(convert_to('k3x9oldsessionkeyfromdjango', 'UTF8') IN id_hash) > 0
   OR data::text LIKE '%k3x9old%';
-- An imported session is no session of its own: its old id is not a token.
SELECT count(*) AS old_id_is_no_token FROM varel_session.session_get('k3x9oldsessionkeyfromdjango00001');

-- The first claim: a new token of the extension's own form, the data and the user.
INSERT INTO claims
SELECT 'logged_in', id FROM varel_session.session_claim('django', 'k3x9oldsessionkeyfromdjango00001',
                                                        ip => '192.0.2.7', user_agent => 'Firefox/130');
SELECT token ~ '^[0-9a-f]{64}$' AS new_token FROM claims WHERE name = 'logged_in';
SELECT s.data, s.user_id FROM claims c, varel_session.session_load(c.token) s WHERE c.name = 'logged_in';
SELECT count(*) AS listed, bool_and(user_agent = 'Firefox/130') AS client_recorded
FROM varel_session.session_user_sessions(41);
-- The old id works once.
SELECT count(*) AS claimed_again FROM varel_session.session_claim('django', 'k3x9oldsessionkeyfromdjango00001');
-- The session's own idle lifetime comes with it (else varel_session.max_age).
SELECT c.data, c.expires_at - c.created_at AS idle_lifetime
FROM varel_session.session_claim('django', 'k3x9oldsessionkeyfromdjango00002') c;

-- A framework that mints its own ids (scs, tower-sessions) names the new one: a framework id.
SELECT varel_session.session_import('scs-postgresstore', 'b2xkLXNjcy10b2tlbi1vZi00My1jaGFyYWN0ZXJzLi4u',
           '{"flash": "hi"}', now() + interval '1 day') AS imported;
SELECT c.id = 'bmV3LXNjcy10b2tlbi1taW50ZWQtYnktdGhlLWFkYXB0ZXI' AS under_new_id, c.data
FROM varel_session.session_claim('scs-postgresstore', 'b2xkLXNjcy10b2tlbi1vZi00My1jaGFyYWN0ZXJzLi4u',
                                 new_id => 'bmV3LXNjcy10b2tlbi1taW50ZWQtYnktdGhlLWFkYXB0ZXI') c;
SELECT data FROM varel_session.session_get('bmV3LXNjcy10b2tlbi1taW50ZWQtYnktdGhlLWFkYXB0ZXI');
-- A new_id that names a stored session already is the programmer's mistake.
SELECT varel_session.session_import('scs-postgresstore', 'another-old-scs-token', '{}', now() + interval '1 day');
SELECT * FROM varel_session.session_claim('scs-postgresstore', 'another-old-scs-token',
                                          new_id => 'bmV3LXNjcy10b2tlbi1taW50ZWQtYnktdGhlLWFkYXB0ZXI');
SELECT count(*) AS still_claimable FROM varel_session.imported_sessions
WHERE id_hash = varel_session_internal.imported_id_hash('scs-postgresstore', 'another-old-scs-token')
  AND ended_at IS NULL;

-- A re-run of the import never brings a claimed id back.
SELECT varel_session.session_import('django', 'k3x9oldsessionkeyfromdjango00001', '{"cart": [9]}',
           now() + interval '2 days', user_id => 41) AS reimported_claimed;
SELECT count(*) AS revived FROM varel_session.session_claim('django', 'k3x9oldsessionkeyfromdjango00001');

-- A re-run refreshes a waiting session with what the old store holds now.
SELECT varel_session.session_import('django', 'k3x9oldsessionkeyfromdjango00003', '{"step": 1}',
           now() + interval '2 days') AS imported,
       varel_session.session_import('django', 'k3x9oldsessionkeyfromdjango00003', '{"step": 2}',
           now() + interval '2 days') AS refreshed;
SELECT data FROM varel_session.session_claim('django', 'k3x9oldsessionkeyfromdjango00003');

-- Untrusted old ids are no session: unknown, another store's, empty, NULL, too long.
SELECT varel_session.session_import('connect-pg-simple', 'VdN2tVhh3gX0z7QOm1h3bq6xE1cX9X0y', '{"n": 1}',
           now() + interval '1 day') AS imported_other_store;
SELECT (SELECT count(*) FROM varel_session.session_claim('django', 'unknown-old-id')) AS unknown,
       (SELECT count(*) FROM varel_session.session_claim('django', 'VdN2tVhh3gX0z7QOm1h3bq6xE1cX9X0y')) AS other_store,
       (SELECT count(*) FROM varel_session.session_claim('django', '')) AS empty,
       (SELECT count(*) FROM varel_session.session_claim('django', NULL)) AS null_id,
       (SELECT count(*) FROM varel_session.session_claim('django', repeat('x', 5000))) AS too_long;

-- Expired, or past the operator's deadline: not imported, or no longer claimable.
SELECT varel_session.session_import('django', 'expired-old-session', '{}', now() - interval '1 second') AS expired,
       varel_session.session_import('django', 'deadline-passed', '{}', now() + interval '1 day',
           accept_until => now() - interval '1 second') AS deadline_passed,
       varel_session.session_import('django', 'short-deadline', '{"a": 1}', now() + interval '1 day',
           accept_until => now() + interval '1 hour') AS short_deadline;
SELECT accept_until - now() BETWEEN interval '59 minutes' AND interval '1 hour' AS accepted_for_an_hour FROM varel_session.imported_sessions
WHERE id_hash = varel_session_internal.imported_id_hash('django', 'short-deadline');
UPDATE varel_session.imported_sessions SET accept_until = now() - interval '1 second'
WHERE id_hash = varel_session_internal.imported_id_hash('django', 'short-deadline');
SELECT count(*) AS after_deadline FROM varel_session.session_claim('django', 'short-deadline');

-- Pruning: a second run that no longer finds a session in the old store (it was logged out
-- there) ends it here too.
SELECT varel_session.session_import('django', 'kept-by-second-run', '{}', now() + interval '1 day'),
       varel_session.session_import('django', 'gone-from-old-store', '{}', now() + interval '1 day');
SELECT pg_sleep(0.01);
CREATE TEMPORARY TABLE second_run AS SELECT statement_timestamp() AS started;
SELECT varel_session.session_import('django', 'kept-by-second-run', '{"again": true}', now() + interval '1 day');
SELECT varel_session.session_import_prune('django', (SELECT started FROM second_run)) AS pruned;
SELECT (SELECT count(*) FROM varel_session.session_claim('django', 'gone-from-old-store')) AS pruned_claims,
       (SELECT count(*) FROM varel_session.session_claim('django', 'kept-by-second-run')) AS kept_claims;

-- Log out everywhere ends the user's imported sessions that are still waiting.
SELECT varel_session.session_import('django', 'device-one-of-42', '{}', now() + interval '1 day', user_id => 42),
       varel_session.session_import('django', 'device-two-of-42', '{}', now() + interval '1 day', user_id => 42);
INSERT INTO claims
SELECT 'device_one', id FROM varel_session.session_claim('django', 'device-one-of-42');
SELECT varel_session.session_user_revoke(42) AS ended;
SELECT (SELECT count(*) FROM varel_session.session_claim('django', 'device-two-of-42')) AS after_revoke,
       (SELECT count(*) FROM claims c, varel_session.session_get(c.token) s
        WHERE c.name = 'device_one') AS claimed_after_revoke;

-- The operator's view, and the export: data, users and deadlines, never a token.
SELECT store, waiting, ended, accept_until > now() AS accepting FROM varel_session.session_import_status();
SELECT count(*) > 0 AS exported, bool_and(handle ~ '^[0-9a-f]{16}$') AS by_handle
FROM varel_session.session_export();
SELECT e.data, e.user_id FROM varel_session.session_export() e
WHERE e.handle = varel_session.session_handle((SELECT token FROM claims WHERE name = 'logged_in'));

-- Data over max_data_bytes (the import does not know this server's setting): the claim gives
-- no session, and no error, and the old id is dead.
SELECT varel_session.session_import('django', 'too-large-for-this-server',
           jsonb_build_object('blob', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 40) i)),
           now() + interval '1 day') AS imported;
SET varel_session.max_data_bytes = '1kB';
SELECT count(*) AS too_large_claimed FROM varel_session.session_claim('django', 'too-large-for-this-server');
RESET varel_session.max_data_bytes;
SELECT count(*) AS claimed_later FROM varel_session.session_claim('django', 'too-large-for-this-server');

-- Cleanup removes waiting imported sessions past their deadline, and ended ones once the old
-- store's expiry has passed too; until then an ended row keeps its old id dead.
UPDATE varel_session.imported_sessions SET accept_until = now() - interval '1 second', expires_at = now()
WHERE id_hash = varel_session_internal.imported_id_hash('connect-pg-simple', 'VdN2tVhh3gX0z7QOm1h3bq6xE1cX9X0y')
   OR id_hash = varel_session_internal.imported_id_hash('django', 'k3x9oldsessionkeyfromdjango00001');
SELECT varel_session.session_cleanup() >= 0 AS cleaned;
SELECT count(*) FILTER (WHERE ended_at IS NULL) AS waiting_past_deadline,
       count(*) FILTER (WHERE ended_at IS NOT NULL AND expires_at <= now()) AS ended_past_expiry,
       count(*) FILTER (WHERE ended_at IS NOT NULL AND expires_at > now()) AS ended_kept
FROM varel_session.imported_sessions
WHERE accept_until <= now();
-- The kept one ('short-deadline', ended by the prune): a late re-run of the import leaves its
-- old id dead, and keeps the row as long as the old store now says it holds the id.
SELECT varel_session.session_import('django', 'short-deadline', '{"a": 2}', now() + interval '3 days') AS reimported_ended;
SELECT count(*) AS revived FROM varel_session.session_claim('django', 'short-deadline');
SELECT expires_at - now() > interval '2 days' AS kept_as_long FROM varel_session.imported_sessions
WHERE id_hash = varel_session_internal.imported_id_hash('django', 'short-deadline');

-- Programmer's mistakes are errors.
SELECT varel_session.session_claim('Django', 'x');
SELECT varel_session.session_import(NULL, 'x', '{}', now() + interval '1 day');
SELECT varel_session.session_import('django', 'x', '[1]', now() + interval '1 day');
SELECT varel_session.session_import('django', 'x', '{}', NULL);
SELECT varel_session.session_import('django', 'x', '{}', now() + interval '1 day', max_age => '-1 hour');
SELECT varel_session.session_import('django', '', '{}', now() + interval '1 day');

-- An application role granted the whole API may claim, but neither import nor export.
CREATE ROLE varel_import_app;
GRANT USAGE ON SCHEMA varel_session TO varel_import_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO varel_import_app;
SET ROLE varel_import_app;
SELECT count(*) AS app_claims FROM varel_session.session_claim('django', 'no-such-id');
SELECT varel_session.session_import('django', 'planted', '{}', now() + interval '1 day');
SELECT count(*) FROM varel_session.session_export();
RESET ROLE;
REVOKE ALL ON SCHEMA varel_session FROM varel_import_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM varel_import_app;
DROP ROLE varel_import_app;
TRUNCATE varel_session.imported_sessions;
DELETE FROM varel_session.sessions WHERE created_at >= (SELECT started FROM test_start);
