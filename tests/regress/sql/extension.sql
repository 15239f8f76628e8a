-- CREATE EXTENSION gives the schema, the table, its indexes and trigger, as specified. (On a
-- database upgraded from an older version, where the extension exists already, the same
-- catalog must be there: the upgrade test runs this suite on one.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS varel_session;
RESET client_min_messages;

SELECT e.extname, e.extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'varel_session') AS default_version,
       n.nspname AS schema, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'varel_session';

-- Columns, in order, with types and nullability.
SELECT attnum, attname, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE attrelid = 'varel_session.sessions'::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum;

-- No column can hold a token: the only bytea column is the 32-byte hash.
SELECT count(*) AS token_columns FROM pg_attribute
WHERE attrelid = 'varel_session.sessions'::regclass AND attname ~ 'token' AND attname <> 'token_hash';

-- Indexes: the primary key on the hash, and a partial index by user. Nothing on expires_at.
SELECT indexrelid::regclass AS index, indisprimary, pg_get_indexdef(indexrelid) AS definition
FROM pg_index WHERE indrelid = 'varel_session.sessions'::regclass ORDER BY 1;

-- Storage parameters (fillfactor, for HOT updates).
SELECT reloptions FROM pg_class WHERE oid = 'varel_session.sessions'::regclass;

-- The trigger that keeps updated_at.
SELECT tgname, pg_get_triggerdef(oid) AS definition FROM pg_trigger
WHERE tgrelid = 'varel_session.sessions'::regclass AND NOT tgisinternal;

-- Every function, the API's and the internal helpers': language, volatility, security, and
-- its pinned settings.
SELECT p.oid::regprocedure AS function, l.lanname AS language, p.provolatile AS volatility,
       p.proparallel AS parallel, p.prosecdef AS security_definer, p.proconfig AS settings
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
ORDER BY p.pronamespace::regnamespace::text, p.proname, p.oid::regprocedure::text;

-- Every SECURITY DEFINER function pins search_path.
SELECT p.oid::regprocedure AS unpinned_definer
FROM pg_proc p
WHERE p.pronamespace IN ('varel_session'::regnamespace, 'varel_session_internal'::regnamespace)
  AND p.prosecdef
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);

-- session_get and session_load return varel_session.session_row, whose columns are these.
SELECT pg_get_function_result('varel_session.session_get(text)'::regprocedure) AS session_get,
       pg_get_function_result('varel_session.session_load(text)'::regprocedure) AS session_load;
SELECT attname, format_type(atttypid, atttypmod) AS type
FROM pg_attribute WHERE attrelid = 'varel_session.session_row'::regclass AND attnum > 0 ORDER BY attnum;
