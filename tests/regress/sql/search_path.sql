-- search_path tricks do not change what the functions do: a hostile schema placed before
-- pg_catalog with look-alike operators and functions, and a temp table named like ours.
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.always_true(bytea, bytea) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = hostile.always_true);
CREATE FUNCTION hostile.always_true_text(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.always_true_text);
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '2000-01-01'::timestamptz$$;
CREATE FUNCTION hostile.lpad(text, integer, text) RETURNS text LANGUAGE sql AS $$SELECT 'pwned'$$;
CREATE FUNCTION hostile.sha256(bytea) RETURNS bytea LANGUAGE sql AS $$SELECT '\x00'::bytea$$;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;

SELECT varel_session.session_new(user_id => 31337, data => '{"k": "v"}') AS t \gset
SELECT varel_session.session_new(user_id => 31337) AS other \gset

SET search_path = hostile, pg_catalog, public;
CREATE TEMP TABLE sessions (token_hash bytea, data jsonb);
INSERT INTO pg_temp.sessions VALUES ('\x00', '{"k": "from the temp table"}');

-- A token that names no session still names no session (an always-true "=" would find one).
SELECT count(*) AS found FROM varel_session.session_get(repeat('0', 64));
SELECT varel_session.session_set(repeat('0', 64), 'k', 'x') AS set_unknown;
-- The real session is read and written as usual, not the temp table.
SELECT data FROM varel_session.session_get(:'t');
SELECT varel_session.session_set(:'t', 'k', 'w') AS set;
SELECT varel_session.session_get(:'t', 'k') AS k;
-- SQL-language functions run with their pinned search_path: real now(), real lpad.
SELECT count(*) AS sessions_of_31337, bool_and(handle ~ '^[0-9a-f]{16}$') AS real_handles
FROM varel_session.session_user_sessions(31337);
SELECT varel_session.session_revoke(31337, 'pwned') AS revoked_by_fake_handle;
SELECT varel_session.session_user_revoke(31337, :'t') AS ended_others;
SELECT count(*) AS kept FROM varel_session.session_get(:'t');
SELECT count(*) AS temp_rows_untouched FROM pg_temp.sessions;

RESET search_path;
SELECT varel_session.session_user_revoke(31337);
DROP SCHEMA hostile CASCADE;
