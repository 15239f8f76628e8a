\echo Use "CREATE EXTENSION varel_session" to load this file. \quit

-- What the extension calls itself (helpers of the SQL-language functions, the trigger
-- function, the cleanup batches) lives apart from the API, so that granting an application
-- every function in varel_session gives it exactly the API. Nobody but the owner may use it;
-- the API functions that call into it are SECURITY DEFINER.
CREATE SCHEMA varel_session_internal;
COMMENT ON SCHEMA varel_session_internal IS
    'varel_session''s internal helpers: not for applications (the API is in schema varel_session)';

-- The sessions table. Applications never touch it directly: every access goes through the
-- functions in this schema, and PUBLIC has no privileges on it (sql/privileges.sql).
--
-- Columns are in alignment order (8-byte fixed-width first, variable-width last), so a row
-- with small data takes about 130 bytes with no padding between columns.
CREATE TABLE varel_session.sessions (
    handle              bigint      NOT NULL,
    user_id             bigint,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz,
    max_age             interval    NOT NULL,
    token_hash          bytea       NOT NULL,
    data                jsonb       NOT NULL DEFAULT '{}'::pg_catalog.jsonb,
    ip                  inet,
    user_agent          text,
    last_seen_at        timestamptz,
    authenticated_at    timestamptz,
    aal                 smallint,
    amr                 text[],
    CONSTRAINT sessions_pkey PRIMARY KEY (token_hash)
)
-- Per-request writes change data, updated_at and expires_at, none of them indexed, so they can
-- be HOT updates (no new index entries) as long as the new row version fits on the same page.
-- fillfactor 80 leaves a fifth of each page for those versions; BENCHMARKS.md has the
-- measured share of HOT updates and the bytes per session this costs.
WITH (fillfactor = 80);

-- Only two indexes, on columns the hot path never changes:
--  * the primary key on token_hash: every per-request function finds its one row here;
--  * (user_id, created_at) for logged-in sessions only: user-wide operations ("your devices",
--    "log out everywhere", the per-user cap) look sessions up by user, oldest first.
-- Deliberately no index on expires_at: sliding it on every use would make every slide a
-- non-HOT update with new entries in every index. Cleanup walks the table in block order
-- instead (sql/cleanup.sql).
CREATE INDEX sessions_user_id_idx ON varel_session.sessions (user_id, created_at)
    WHERE user_id IS NOT NULL;

-- The rows are an extension's configuration data for pg_dump: a dump carries them (only hashes,
-- never tokens), so moving a database with pg_dump/pg_restore logs nobody out.
SELECT pg_catalog.pg_extension_config_dump('varel_session.sessions', '');

COMMENT ON TABLE varel_session.sessions IS
    'web-application sessions; reachable only through the varel_session functions';
COMMENT ON COLUMN varel_session.sessions.handle IS
    'random, stable, non-secret name of the session, shown in "your devices" lists';
COMMENT ON COLUMN varel_session.sessions.token_hash IS
    'SHA-256 of the 32 bytes of the session token; the token itself is never stored';
COMMENT ON COLUMN varel_session.sessions.expires_at IS
    'idle deadline: slides to now() + max_age on use, never past absolute_expires_at';
COMMENT ON COLUMN varel_session.sessions.absolute_expires_at IS
    'hard cap from creation or the last log-in (varel_session.absolute_timeout); NULL = none';
COMMENT ON COLUMN varel_session.sessions.max_age IS
    'the session''s own idle lifetime, so its deadline can slide';
COMMENT ON COLUMN varel_session.sessions.ip IS
    'client address at creation or at the last log-in';
COMMENT ON COLUMN varel_session.sessions.user_agent IS
    'client user agent at creation or at the last log-in';
COMMENT ON COLUMN varel_session.sessions.last_seen_at IS
    'when the session was last used: set by writes and by slides of the idle deadline, so at the slide''s granularity';
COMMENT ON COLUMN varel_session.sessions.authenticated_at IS
    'when the user last logged in or re-authenticated; NULL without a user';
COMMENT ON COLUMN varel_session.sessions.aal IS
    'the assurance level (NIST SP 800-63B-4, 1 to 3) of that authentication';
COMMENT ON COLUMN varel_session.sessions.amr IS
    'the authentication methods of that authentication (RFC 8176 names, such as pwd, otp, hwk)';

-- Sessions imported from another store (sql/import.sql), waiting for their first request. Each
-- is keyed by a hash of the old store's name and the old id, never the id itself, and that
-- hash's input starts with a prefix of its own, so it can never be the stored form of a token
-- or a framework id. The first request that presents the old id claims the row: it becomes a
-- session of the sessions table under a new token, and the row stays behind, ended (data
-- emptied), so that the old id never works a second time, not even when the import runs again.
-- Cleanup removes a waiting row once its deadline (accept_until) has passed, and an ended one
-- once the old store's expiry has passed too.
CREATE TABLE varel_session.imported_sessions (
    id_hash      bytea       NOT NULL,
    user_id      bigint,
    created_at   timestamptz,
    expires_at   timestamptz NOT NULL,
    accept_until timestamptz NOT NULL,
    imported_at  timestamptz NOT NULL,
    ended_at     timestamptz,
    max_age      interval,
    store        text        NOT NULL,
    data         jsonb       NOT NULL,
    CONSTRAINT imported_sessions_pkey PRIMARY KEY (id_hash),
    CONSTRAINT imported_sessions_accept_until_check CHECK (accept_until OPERATOR(pg_catalog.<=) expires_at)
);
-- "Log out everywhere" ends a user's imported sessions too (sql/users.sql).
CREATE INDEX imported_sessions_user_id_idx ON varel_session.imported_sessions (user_id)
    WHERE user_id IS NOT NULL AND ended_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('varel_session.imported_sessions', '');
COMMENT ON TABLE varel_session.imported_sessions IS
    'sessions imported from another store, until their first request claims them; reachable only through the varel_session functions';
COMMENT ON COLUMN varel_session.imported_sessions.id_hash IS
    'SHA-256 of a prefix, the old store''s name and the old session id; the id itself is never stored';
COMMENT ON COLUMN varel_session.imported_sessions.accept_until IS
    'the old id is accepted until then (at the latest the old store''s expiry); cleanup removes the row afterwards';
COMMENT ON COLUMN varel_session.imported_sessions.ended_at IS
    'when the old id was claimed or its user logged out everywhere; the old id works no more';

-- Log-ins through an OpenID Connect provider (sql/idp.sql): the provider's issuer, its session
-- id (sid) and the user's subject (sub) for a session, so that the provider's back-channel
-- logout can end it. Keyed by the session's handle (stable across rotations, never the token)
-- with its user, so that ending the matching sessions goes through the user index of the
-- sessions table. A row outlives its session until the next cleanup removes it.
CREATE TABLE varel_session.idp_logins (
    handle      bigint      NOT NULL,
    user_id     bigint      NOT NULL,
    iss         text        NOT NULL,
    sid         text,
    sub         text,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT idp_logins_pkey PRIMARY KEY (handle),
    CONSTRAINT idp_logins_sid_or_sub CHECK (sid IS NOT NULL OR sub IS NOT NULL)
);
CREATE INDEX idp_logins_sid_idx ON varel_session.idp_logins (iss, sid) WHERE sid IS NOT NULL;
CREATE INDEX idp_logins_sub_idx ON varel_session.idp_logins (iss, sub) WHERE sub IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('varel_session.idp_logins', '');
COMMENT ON TABLE varel_session.idp_logins IS
    'the identity provider''s iss, sid and sub of sessions logged in through OpenID Connect, for back-channel logout; reachable only through the varel_session functions';

-- When cleanup last finished and how many sessions it removed, for session_stats(). One row.
CREATE TABLE varel_session.cleanup_log (
    only_row     boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    finished_at  timestamptz,
    removed      bigint      NOT NULL DEFAULT 0
);
INSERT INTO varel_session.cleanup_log DEFAULT VALUES;
COMMENT ON TABLE varel_session.cleanup_log IS
    'when session_cleanup or session_cleanup_run last finished, and how many sessions it removed';

-- updated_at follows changes to data or user_id, including an administrator's direct UPDATE;
-- an UPDATE that only slides expires_at leaves it alone. (The API functions write rows through
-- the table access method and set updated_at themselves; see extension/src/storage.rs.)
CREATE FUNCTION varel_session_internal.sessions_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.data IS DISTINCT FROM OLD.data OR NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER sessions_set_updated_at
    BEFORE UPDATE OF data, user_id ON varel_session.sessions
    FOR EACH ROW EXECUTE FUNCTION varel_session_internal.sessions_set_updated_at();

-- Whether a row is a live session: both deadlines still ahead of now(). The one definition the
-- SQL-language functions use (extension/src/row.rs has the C functions' own, Row::is_live).
-- Plain SQL with no SET clause, so the planner inlines it into each query, as if written out there.
-- SECURITY INVOKER, naming only pg_catalog objects, schema-qualified: pgspot allows it no
-- search_path.
-- pgspot-allow: proc-without-search-path varel_session_internal.is_live(expires_at timestamptz,absolute_expires_at timestamptz)
CREATE FUNCTION varel_session_internal.is_live(expires_at timestamptz,
                                               absolute_expires_at timestamptz)
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT $1 OPERATOR(pg_catalog.>) pg_catalog.now()
       AND ($2 IS NULL OR $2 OPERATOR(pg_catalog.>) pg_catalog.now())
$$;
COMMENT ON FUNCTION varel_session_internal.is_live(timestamptz, timestamptz) IS
    'internal: whether a session with these deadlines is live (both still ahead of now())';

-- The row session_get and session_load return, in both editions (the SQL edition shares this
-- file). A named row type rather than RETURNS TABLE(...): for a TABLE function the executor
-- rebuilds the row descriptor from pg_proc on every call, for a row type it takes it from the
-- type cache (2.3% of session_get throughput, BENCHMARKS.md). The columns are the same either
-- way.
CREATE TYPE varel_session.session_row AS (
    data jsonb,
    user_id bigint,
    created_at timestamptz,
    updated_at timestamptz,
    expires_at timestamptz,
    absolute_expires_at timestamptz,
    authenticated_at timestamptz,
    aal smallint,
    amr text[]
);
COMMENT ON TYPE varel_session.session_row IS
    'a session as session_get and session_load return it';
