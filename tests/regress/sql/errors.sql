-- Programmer mistakes are ERRORs with a specific SQLSTATE and a lowercase message, raised
-- before the token is even looked at. No error field ever contains the token.
CREATE FUNCTION pg_temp.try(statement text, token text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; message text; detail text; hint text; context text;
BEGIN
    EXECUTE statement USING token;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT, context = PG_EXCEPTION_CONTEXT;
    IF position(lower(token) IN lower(concat_ws(' ', message, detail, hint, context))) > 0 THEN
        RETURN state || ': TOKEN LEAKED';
    END IF;
    RETURN state || ': ' || message || coalesce(' (hint: ' || nullif(hint, '') || ')', '');
END
$$;

SELECT varel_session.session_new() AS t \gset
SET varel_session.max_data_bytes = '1kB';

SELECT label, pg_temp.try(statement, :'t') AS outcome FROM (VALUES
    ('set: null key',            $$SELECT varel_session.session_set($1, NULL, 'v')$$),
    ('set: null value',          $$SELECT varel_session.session_set($1, 'k', NULL)$$),
    ('set: null patch',          $$SELECT varel_session.session_set($1, NULL::jsonb)$$),
    ('set: array patch',         $$SELECT varel_session.session_set($1, '[1, 2]'::jsonb)$$),
    ('set: scalar patch',        $$SELECT varel_session.session_set($1, '"x"'::jsonb)$$),
    ('set: oversized value',     $$SELECT varel_session.session_set($1, 'k', repeat('x', 2000))$$),
    ('set: oversized patch',     $$SELECT varel_session.session_set($1, jsonb_build_object('k', repeat('x', 2000)))$$),
    ('set: grows past limit',    $$SELECT varel_session.session_set($1, 'a', repeat('x', 600)), varel_session.session_set($1, 'b', repeat('y', 600))$$),
    ('get: null key',            $$SELECT varel_session.session_get($1, NULL)$$),
    ('unset: null key',          $$SELECT varel_session.session_unset($1, NULL)$$),
    ('set_user: null user',      $$SELECT varel_session.session_set_user($1, NULL)$$),
    ('new: zero max_age',        $$SELECT varel_session.session_new('0 seconds') WHERE $1 IS NOT NULL$$),
    ('new: negative max_age',    $$SELECT varel_session.session_new('-5 minutes') WHERE $1 IS NOT NULL$$),
    ('new: null data',           $$SELECT varel_session.session_new(data => NULL) WHERE $1 IS NOT NULL$$),
    ('new: array data',          $$SELECT varel_session.session_new(data => '[]') WHERE $1 IS NOT NULL$$),
    ('new: oversized data',      $$SELECT varel_session.session_new(data => jsonb_build_object('k', repeat('x', 2000))) WHERE $1 IS NOT NULL$$),
    ('revoke: null user',        $$SELECT varel_session.session_revoke(NULL, $1)$$),
    ('user_revoke: null user',   $$SELECT varel_session.session_user_revoke(NULL, $1)$$),
    ('cleanup: zero batch',      $$SELECT varel_session.session_cleanup(0) WHERE $1 IS NOT NULL$$),
    ('errors come first: bad token and null key', $$SELECT varel_session.session_set('not a token', NULL, 'v') WHERE $1 IS NOT NULL$$)
) AS cases(label, statement);

-- The failed writes changed nothing; the session is still there and small.
SELECT data FROM varel_session.session_get(:'t');
RESET varel_session.max_data_bytes;
SELECT varel_session.session_destroy(:'t');
