-- varel_session 0.1.0 -> 0.2.0 (ALTER EXTENSION varel_session UPDATE TO '0.2.0').
\echo Use "ALTER EXTENSION varel_session UPDATE" to load this file. \quit

-- The sessions table's rows travel with pg_dump (they hold hashes, never tokens), so moving a
-- database with pg_dump/pg_restore logs nobody out.
SELECT pg_catalog.pg_extension_config_dump('varel_session.sessions', '');
