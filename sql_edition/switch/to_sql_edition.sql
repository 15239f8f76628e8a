-- Moves a database from the C edition (varel_session) to the SQL edition (varel_session_sql)
-- without losing a session: run as the extensions' owner (a superuser), with psql:
--     psql -v ON_ERROR_STOP=1 -d app -f to_sql_edition.sql
-- One transaction: requests wait for it (DROP EXTENSION locks the table) and then carry on
-- with the other edition's functions, under the same names; if anything fails, nothing
-- changed. The two editions store sessions in the same table layout, so every row moves as
-- it is. Afterwards, grant the API to the application role again (docs/security.md),
-- and check varel_session.settings: the policy is copied into it from the varel_session.*
-- settings this connection sees (postgresql.conf, ALTER DATABASE/ROLE); those not set keep
-- the defaults.
BEGIN;
-- Sealed data (varel_session.seal_data) opens only in the C edition: refuse rather than move
-- rows the SQL edition would hand out sealed.
DO $$
BEGIN
    IF EXISTS (SELECT FROM varel_session.sessions WHERE jsonb_typeof(data) <> 'object') THEN
        RAISE EXCEPTION 'some sessions have sealed data, which the SQL edition cannot open'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'turn varel_session.seal_data off: each session is stored open at its next write of its data or rotation of its token; or end them (session_revoke_all)';
    END IF;
END
$$;
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
CREATE TEMPORARY TABLE varel_session_moving_policy ON COMMIT DROP AS
    SELECT current_setting('varel_session.max_age', true) AS max_age,
           current_setting('varel_session.absolute_timeout', true) AS absolute_timeout,
           current_setting('varel_session.max_data_bytes', true) AS max_data_bytes,
           current_setting('varel_session.max_sessions_per_user', true) AS max_sessions_per_user,
           current_setting('varel_session.events', true) AS events,
           current_setting('varel_session.events_channel', true) AS events_channel,
           current_setting('varel_session.aal_timeouts', true) AS aal_timeouts;
DROP EXTENSION varel_session;
CREATE EXTENSION varel_session_sql;
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
UPDATE varel_session.settings AS s
SET max_age = coalesce(nullif(p.max_age, '')::interval, s.max_age),
    absolute_timeout = coalesce(nullif(p.absolute_timeout, '')::interval, s.absolute_timeout),
    max_data_bytes = coalesce(pg_size_bytes(nullif(p.max_data_bytes, '')), s.max_data_bytes),
    max_sessions_per_user = coalesce(nullif(p.max_sessions_per_user, '')::integer,
                                     s.max_sessions_per_user),
    events = coalesce(nullif(p.events, '')::boolean, s.events),
    events_channel = coalesce(nullif(p.events_channel, ''), s.events_channel),
    aal_timeouts = coalesce(nullif(p.aal_timeouts, '')::boolean, s.aal_timeouts)
FROM varel_session_moving_policy AS p;
COMMIT;
