-- Moves a database from the SQL edition (varel_session_sql) to the C edition (varel_session)
-- without losing a session: run as a superuser, with psql:
--     psql -v ON_ERROR_STOP=1 -d app -f to_c_edition.sql
-- One transaction, as to_sql_edition.sql. The policy table goes away: it prints the
-- ALTER DATABASE statements that carry it into the C edition's settings (run them, then
-- reconnect), and the API must be granted to the application role again.
BEGIN;
CREATE TEMPORARY TABLE varel_session_moving ON COMMIT DROP AS
    SELECT handle, user_id, created_at, updated_at, expires_at, absolute_expires_at, max_age,
           token_hash, data, ip, user_agent, last_seen_at, authenticated_at, aal, amr
    FROM varel_session.sessions;
CREATE TEMPORARY TABLE varel_session_moving_cleanup ON COMMIT DROP AS
    SELECT finished_at, removed FROM varel_session.cleanup_log;
-- Sessions imported from another store and not claimed yet (docs/moving.md), and the ended
-- ones that keep their old ids from working again.
CREATE TEMPORARY TABLE varel_session_moving_imported ON COMMIT DROP AS
    SELECT id_hash, user_id, created_at, expires_at, accept_until, imported_at, ended_at,
           max_age, store, data
    FROM varel_session.imported_sessions;
-- The identity providers' records of sessions, for back-channel logout (sql/idp.sql).
CREATE TEMPORARY TABLE varel_session_moving_idp ON COMMIT DROP AS
    SELECT handle, user_id, iss, sid, sub, recorded_at FROM varel_session.idp_logins;
SELECT format('ALTER DATABASE %I SET varel_session.%s = %L;', current_database(), name, value)
       AS "the policy, for the C edition's settings"
FROM varel_session.settings AS s,
     LATERAL (VALUES
         ('max_age', extract(epoch FROM s.max_age)::bigint || 's'),
         ('absolute_timeout', extract(epoch FROM s.absolute_timeout)::bigint || 's'),
         ('max_data_bytes', s.max_data_bytes::text),
         ('max_sessions_per_user', s.max_sessions_per_user::text),
         ('events', s.events::text),
         ('events_channel', s.events_channel),
         ('aal_timeouts', s.aal_timeouts::text)) AS p(name, value);
DROP EXTENSION varel_session_sql;
CREATE EXTENSION varel_session;
INSERT INTO varel_session.sessions (handle, user_id, created_at, updated_at, expires_at,
    absolute_expires_at, max_age, token_hash, data, ip, user_agent, last_seen_at,
    authenticated_at, aal, amr)
SELECT * FROM varel_session_moving;
INSERT INTO varel_session.imported_sessions (id_hash, user_id, created_at, expires_at,
    accept_until, imported_at, ended_at, max_age, store, data)
SELECT * FROM varel_session_moving_imported;
INSERT INTO varel_session.idp_logins (handle, user_id, iss, sid, sub, recorded_at)
SELECT * FROM varel_session_moving_idp;
UPDATE varel_session.cleanup_log AS l SET finished_at = m.finished_at, removed = m.removed
FROM varel_session_moving_cleanup AS m;
COMMIT;
