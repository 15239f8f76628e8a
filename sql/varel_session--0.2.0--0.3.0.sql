-- varel_session 0.2.0 -> 0.3.0 (ALTER EXTENSION varel_session UPDATE TO '0.3.0').
-- Every statement here matches what sql/*.sql creates for a fresh 0.3.0 install; the upgrade
-- test (tests/upgrade) compares the two catalogs.
\echo Use "ALTER EXTENSION varel_session UPDATE" to load this file. \quit

-- Framework ids: a session created under an id a web framework minted itself (tower-sessions,
-- scs, PHP, Laravel, Spring), which every function then accepts as it accepts a token. The
-- library hashes framework ids in every function; this adds the one that creates a session
-- under one.
CREATE FUNCTION varel_session.session_adopt(
    id text,
    max_age interval DEFAULT NULL,
    user_id bigint DEFAULT NULL,
    data jsonb DEFAULT '{}'::pg_catalog.jsonb,
    ip inet DEFAULT NULL,
    user_agent text DEFAULT NULL
) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'varel_session_adopt';
COMMENT ON FUNCTION varel_session.session_adopt(text, interval, bigint, jsonb, inet, text) IS
    'creates a session under an id a web framework minted (a framework id); false when one with that id is stored already';
REVOKE ALL ON FUNCTION varel_session.session_adopt(text, interval, bigint, jsonb, inet, text) FROM PUBLIC;

COMMENT ON FUNCTION varel_session_internal.token_hash(text) IS
    'the stored form of a token (SHA-256 of its 32 bytes) or of a framework id, or NULL when id is neither';
