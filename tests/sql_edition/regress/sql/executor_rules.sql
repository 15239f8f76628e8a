-- The SQL edition in place of ddl_guard: its functions go through the executor, so what an
-- administrator adds to the table (a column with a default, a trigger, a CHECK constraint, a
-- foreign key, row-level security) applies to their writes as to any SQL, where the C edition
-- refuses to write (tests/regress/sql/ddl_guard.sql). Errors are PostgreSQL's own.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS varel_session_sql CASCADE;
CREATE EXTENSION varel_session_sql;
RESET client_min_messages;
SELECT varel_session.session_new(data => '{"n": 1}', user_id => 41) AS t \gset

-- A column of the administrator's own, with a default: new sessions get it.
ALTER TABLE varel_session.sessions ADD COLUMN tenant text DEFAULT 'acme';
SELECT varel_session.session_set(:'t', 'n', '2') AS set_with_column;
SELECT varel_session.session_new() IS NOT NULL AS created_with_column;
SELECT tenant, count(*) FROM varel_session.sessions GROUP BY tenant;
ALTER TABLE varel_session.sessions DROP COLUMN tenant;

-- A trigger fires on the functions' writes. It runs inside them, with their pinned
-- search_path (pg_catalog, pg_temp), so it names its own objects with their schema.
CREATE TABLE audit (what text, handle bigint);
CREATE FUNCTION audit_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.audit VALUES (TG_OP, coalesce(NEW.handle, OLD.handle));
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON varel_session.sessions
    FOR EACH ROW EXECUTE FUNCTION audit_session();
SELECT varel_session.session_new() AS a \gset
SELECT varel_session.session_set(:'a', 'k', 'v') AS set;
SELECT varel_session.session_destroy(:'a') AS destroyed;
SELECT what FROM audit ORDER BY what;
DROP TRIGGER audit ON varel_session.sessions;

-- A CHECK constraint applies: the write fails with PostgreSQL's 23514, and nothing changes.
ALTER TABLE varel_session.sessions ADD CONSTRAINT small_data CHECK (pg_column_size(data) < 100);
SELECT varel_session.session_set(:'t', 'big', repeat('x', 200));
SELECT data FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions DROP CONSTRAINT small_data;

-- A foreign key from a table of the app's to the sessions' handles is enforced on delete.
CREATE UNIQUE INDEX sessions_handle ON varel_session.sessions (handle);
CREATE TABLE carts (handle bigint REFERENCES varel_session.sessions (handle));
INSERT INTO carts SELECT handle FROM varel_session.sessions WHERE user_id = 41;
SELECT varel_session.session_destroy(:'t');
SELECT count(*) AS still_there FROM varel_session.session_get(:'t');
DROP TABLE carts;
DROP INDEX varel_session.sessions_handle;

-- Row-level security on the table does not hide rows from the functions: they run as the
-- table's owner, which RLS exempts unless the owner FORCEs it on itself.
ALTER TABLE varel_session.sessions ENABLE ROW LEVEL SECURITY;
SELECT count(*) AS visible_with_rls FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions DISABLE ROW LEVEL SECURITY;

-- The primary key dropped: the functions still find the row (by a scan, slowly).
ALTER TABLE varel_session.sessions DROP CONSTRAINT sessions_pkey;
SELECT count(*) AS found_without_pkey FROM varel_session.session_get(:'t');
ALTER TABLE varel_session.sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash);

DROP TABLE audit;
DROP FUNCTION audit_session();
SET client_min_messages = warning;
DROP EXTENSION varel_session_sql CASCADE;
CREATE EXTENSION varel_session_sql;
RESET client_min_messages;
