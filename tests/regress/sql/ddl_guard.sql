-- What an administrator may do to the extension's objects, and what the functions do then.
-- The functions read and write the table directly, so they check, after taking their lock and
-- on every call, that the table, its indexes and the result row type are what the C code was
-- written for: they adapt where it is safe (dropped columns and attributes, added indexes,
-- rebuilt tables) and refuse with a clear ERROR 55000 where it is not. They also refuse to
-- write while a rule exists that a direct write would skip (triggers, foreign keys, CHECK
-- constraints, row-level security, rewrite rules, deferrable indexes); reads carry on.
-- Every statement here runs in one connection, so each step also proves that the
-- connection's cached knowledge follows the change.
\set VERBOSITY default
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS varel_session CASCADE;
CREATE EXTENSION varel_session;
RESET client_min_messages;
SELECT varel_session.session_new(data => '{"n": 1}', user_id => 41) AS t \gset

-- A column of the administrator's own: refused by every function, reads included (a direct
-- insert would skip its default, NOT NULL and constraints).
ALTER TABLE varel_session.sessions ADD COLUMN tenant text DEFAULT 'acme';
SELECT count(*) FROM varel_session.session_get(:'t');
SELECT varel_session.session_set(:'t', 'n', '2');
SELECT varel_session.session_new();
-- Dropped again, it leaves a dropped attribute behind for good; that is fine.
ALTER TABLE varel_session.sessions DROP COLUMN tenant;
SELECT varel_session.session_set(:'t', 'n', '2') AS set_after_drop;
SELECT data FROM varel_session.session_get(:'t');

-- One of ours dropped and re-added moves to the end of the row: found by name.
ALTER TABLE varel_session.sessions DROP COLUMN ip;
SELECT varel_session.session_set(:'t', 'n', '3');
ALTER TABLE varel_session.sessions ADD COLUMN ip inet;
SELECT varel_session.session_new(ip => '192.0.2.7', user_agent => 'moved/1', data => '{"m": 1}') AS m \gset
SELECT data FROM varel_session.session_load(:'m');
SELECT varel_session.session_set(:'m', 'm', '2') AS set_moved,
       varel_session.session_regenerate(:'m') IS NOT NULL AS regenerated;
SELECT ip, user_agent, data FROM varel_session.sessions WHERE user_agent = 'moved/1';
SELECT data FROM varel_session.session_get(:'t');

-- NOT NULL, types and generated columns must be exactly as created.
ALTER TABLE varel_session.sessions ALTER COLUMN data DROP NOT NULL;
SELECT count(*) FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions ALTER COLUMN data SET NOT NULL;
UPDATE varel_session.sessions SET ip = '0.0.0.0' WHERE ip IS NULL;
ALTER TABLE varel_session.sessions ALTER COLUMN ip SET NOT NULL;
SELECT varel_session.session_new();
ALTER TABLE varel_session.sessions ALTER COLUMN ip DROP NOT NULL;
ALTER TABLE varel_session.sessions ALTER COLUMN handle ADD GENERATED ALWAYS AS IDENTITY;
SELECT varel_session.session_new();
ALTER TABLE varel_session.sessions ALTER COLUMN handle DROP IDENTITY;
ALTER TABLE varel_session.sessions ALTER COLUMN user_agent TYPE varchar(200);
SELECT count(*) FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions ALTER COLUMN user_agent TYPE text;
ALTER TABLE varel_session.sessions ALTER COLUMN created_at TYPE timestamptz(0);
SELECT count(*) FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions ALTER COLUMN created_at TYPE timestamptz;
SELECT count(*) AS back_to_normal FROM varel_session.session_get(:'t');

-- The primary key: gone, then recreated under its name on another column, then restored.
ALTER TABLE varel_session.sessions DROP CONSTRAINT sessions_pkey;
SELECT count(*) FROM varel_session.session_get(:'t');
CREATE UNIQUE INDEX sessions_pkey ON varel_session.sessions (handle);
SELECT count(*) FROM varel_session.session_get(:'t');
DROP INDEX varel_session.sessions_pkey;
CREATE INDEX sessions_pkey ON varel_session.sessions USING hash (token_hash);
SELECT count(*) FROM varel_session.session_get(:'t');
DROP INDEX varel_session.sessions_pkey;
CREATE UNIQUE INDEX sessions_pkey ON varel_session.sessions (token_hash) WHERE user_id IS NOT NULL;
SELECT count(*) FROM varel_session.session_get(:'t');
DROP INDEX varel_session.sessions_pkey;
-- Unique on (token_hash, handle) does not make token_hash unique.
CREATE UNIQUE INDEX sessions_pkey ON varel_session.sessions (token_hash, handle);
SELECT count(*) FROM varel_session.session_get(:'t');
DROP INDEX varel_session.sessions_pkey;
ALTER TABLE varel_session.sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash);
SELECT data FROM varel_session.session_get(:'t');

-- The by-user index is needed only by user-wide work (the cap; checks under REPEATABLE
-- READ): without it, everything else carries on, and those refuse.
DROP INDEX varel_session.sessions_user_id_idx;
SELECT varel_session.session_new(user_id => 41) IS NOT NULL AS login_without_cap;
SET varel_session.max_sessions_per_user = 5;
SELECT varel_session.session_new(user_id => 41);
CREATE INDEX sessions_user_id_idx ON varel_session.sessions (created_at);
SELECT varel_session.session_new(user_id => 41);
DROP INDEX varel_session.sessions_user_id_idx;
CREATE INDEX sessions_user_id_idx ON varel_session.sessions (user_id) WHERE created_at > '2020-01-01';
SELECT varel_session.session_new(user_id => 41);
DROP INDEX varel_session.sessions_user_id_idx;
-- Without the predicate it finds every session of a user, so it is fine.
CREATE INDEX sessions_user_id_idx ON varel_session.sessions (user_id);
SELECT varel_session.session_new(user_id => 41) IS NOT NULL AS login_with_full_index;
DROP INDEX varel_session.sessions_user_id_idx;
CREATE INDEX sessions_user_id_idx ON varel_session.sessions (user_id, created_at)
    WHERE user_id IS NOT NULL;
SELECT varel_session.session_new(user_id => 41) IS NOT NULL AS login_with_cap;
RESET varel_session.max_sessions_per_user;

-- Indexes of the administrator's own are maintained by every write, unique ones enforced.
CREATE INDEX sessions_expires_idx ON varel_session.sessions (expires_at);
CREATE UNIQUE INDEX sessions_agent_idx ON varel_session.sessions (user_agent);
SELECT varel_session.session_new(user_agent => 'only-one') IS NOT NULL AS first_agent;
SELECT varel_session.session_new(user_agent => 'only-one');
SELECT varel_session.session_touch(:'t') IS NOT NULL AS touched;
SET enable_seqscan = off;
SELECT count(*) AS found_by_admin_index FROM varel_session.sessions
WHERE expires_at = (SELECT expires_at FROM varel_session.session_get(:'t'));
RESET enable_seqscan;
DROP INDEX varel_session.sessions_expires_idx, varel_session.sessions_agent_idx;
-- A deferrable unique index is checked at commit by a trigger a direct write does not queue.
ALTER TABLE varel_session.sessions ADD CONSTRAINT sessions_handle_key UNIQUE (handle) DEFERRABLE;
SELECT varel_session.session_set(:'t', 'n', '4');
SELECT count(*) AS reads_still_work FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions DROP CONSTRAINT sessions_handle_key;

-- Rebuilding the table or its indexes changes nothing the functions rely on.
REINDEX TABLE varel_session.sessions;
SELECT varel_session.session_set(:'t', 'n', '5') AS after_reindex;
VACUUM FULL varel_session.sessions;
SELECT varel_session.session_set(:'t', 'n', '6') AS after_vacuum_full;
CLUSTER varel_session.sessions USING sessions_pkey;
SELECT data FROM varel_session.session_load(:'t');

-- Rules a direct write would skip: writers refuse while they exist, readers carry on.
ALTER TABLE varel_session.sessions ADD CONSTRAINT small_data CHECK (pg_column_size(data) < 100000);
SELECT varel_session.session_set(:'t', 'n', '7');
SELECT varel_session.session_destroy(:'t');
SELECT data FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions DROP CONSTRAINT small_data;

CREATE FUNCTION audit_sessions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER audit AFTER UPDATE ON varel_session.sessions FOR EACH ROW EXECUTE FUNCTION audit_sessions();
SELECT varel_session.session_set(:'t', 'n', '7');
SELECT varel_session.session_new();
-- session_load refuses too, since it may write; in a read-only transaction it cannot, and
-- reads.
SELECT count(*) FROM varel_session.session_load(:'t');
BEGIN READ ONLY;
SELECT count(*) AS read_only_load FROM varel_session.session_load(:'t');
COMMIT;
-- A disabled trigger fires for nobody, so nothing is skipped.
ALTER TABLE varel_session.sessions DISABLE TRIGGER audit;
SELECT varel_session.session_set(:'t', 'n', '7') AS set_with_disabled_trigger;
DROP TRIGGER audit ON varel_session.sessions;
DROP FUNCTION audit_sessions();

CREATE TABLE app_users (id bigint PRIMARY KEY);
INSERT INTO app_users SELECT DISTINCT user_id FROM varel_session.sessions WHERE user_id IS NOT NULL;
ALTER TABLE varel_session.sessions ADD CONSTRAINT sessions_user_fk
    FOREIGN KEY (user_id) REFERENCES app_users (id);
SELECT varel_session.session_set_user(:'t', 41);
SELECT varel_session.session_clear_user(:'t');
ALTER TABLE varel_session.sessions DROP CONSTRAINT sessions_user_fk;
DROP TABLE app_users;
CREATE TABLE audit_log (session_hash bytea REFERENCES varel_session.sessions (token_hash));
SELECT varel_session.session_destroy(:'t');
DROP TABLE audit_log;

ALTER TABLE varel_session.sessions ENABLE ROW LEVEL SECURITY;
SELECT varel_session.session_set(:'t', 'n', '8');
ALTER TABLE varel_session.sessions DISABLE ROW LEVEL SECURITY;

CREATE RULE keep_sessions AS ON DELETE TO varel_session.sessions DO INSTEAD NOTHING;
SELECT varel_session.session_destroy(:'t');
DROP RULE keep_sessions ON varel_session.sessions;
SELECT varel_session.session_set(:'t', 'n', '8') AS rules_gone;

-- Publications are honoured: an update or delete of a table published without a usable
-- replica identity fails exactly as SQL's UPDATE would.
SET client_min_messages = error;
CREATE PUBLICATION sessions_pub FOR TABLE varel_session.sessions;
RESET client_min_messages;
SELECT varel_session.session_set(:'t', 'n', '9') AS published_with_primary_key;
ALTER TABLE varel_session.sessions REPLICA IDENTITY NOTHING;
SELECT varel_session.session_set(:'t', 'n', '10');
SELECT varel_session.session_new() IS NOT NULL AS inserts_need_no_identity;
ALTER TABLE varel_session.sessions REPLICA IDENTITY DEFAULT;
ALTER PUBLICATION sessions_pub SET TABLE varel_session.sessions WHERE (user_id IS NOT NULL);
SELECT varel_session.session_set(:'t', 'n', '10');
DROP PUBLICATION sessions_pub;
SELECT varel_session.session_set(:'t', 'n', '10') AS unpublished;

-- The row type session_get and session_load return.
ALTER TYPE varel_session.session_row ADD ATTRIBUTE note text;
SELECT count(*) FROM varel_session.session_get(:'t');
SELECT count(*) FROM varel_session.session_load(:'t');
ALTER TYPE varel_session.session_row DROP ATTRIBUTE note;
SELECT data, user_id FROM varel_session.session_get(:'t');
ALTER TYPE varel_session.session_row DROP ATTRIBUTE absolute_expires_at;
SELECT count(*) FROM varel_session.session_get(:'t');
-- The attributes back in the library's order: usable again.
ALTER TYPE varel_session.session_row
    DROP ATTRIBUTE authenticated_at, DROP ATTRIBUTE aal, DROP ATTRIBUTE amr,
    ADD ATTRIBUTE absolute_expires_at timestamptz, ADD ATTRIBUTE authenticated_at timestamptz,
    ADD ATTRIBUTE aal smallint, ADD ATTRIBUTE amr text[];
SELECT data, absolute_expires_at IS NOT NULL AS has_cap, aal FROM varel_session.session_get(:'t');
-- Without the attributes added in 0.4.0 (as older SQL declares it), the rest is returned.
ALTER TYPE varel_session.session_row DROP ATTRIBUTE amr;
SELECT data, aal FROM varel_session.session_get(:'t');
ALTER TYPE varel_session.session_row ADD ATTRIBUTE amr text[];

-- TRUNCATE: every session is gone, the functions carry on.
TRUNCATE varel_session.sessions;
SELECT count(*) AS truncated FROM varel_session.session_get(:'t');
SELECT varel_session.session_new() IS NOT NULL AS new_after_truncate;

-- Back to a clean extension for the tests that follow.
SET client_min_messages = warning;
DROP EXTENSION varel_session CASCADE;
CREATE EXTENSION varel_session;
RESET client_min_messages;
