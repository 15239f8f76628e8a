-- Anything that is not a well-formed token means "no session": no row, NULL or false, and
-- never an error, for every function that takes a token. Some of these have a framework id's
-- form (22 to 128 URL-safe characters: 63 and 65 characters, 'g' x 64), so they have a stored
-- form and are looked up, and name no session either (adopt.sql has the framework ids).
CREATE TEMP TABLE bad_tokens (label text, token text);
INSERT INTO bad_tokens VALUES
    ('null', NULL),
    ('empty', ''),
    ('63 chars', repeat('a', 63)),
    ('65 chars', repeat('a', 65)),
    ('non-hex', repeat('g', 64)),
    ('spaces', ' ' || repeat('a', 62) || ' '),
    ('sql', $$'; DROP TABLE varel_session.sessions; --$$ || repeat('0', 24)),
    ('unicode', repeat('é', 64)),
    ('huge', repeat('ab', 500000)),
    ('well formed, unknown', repeat('0', 64));

SELECT label,
       (SELECT count(*) FROM varel_session.session_get(token)) AS get_rows,
       (SELECT count(*) FROM varel_session.session_load(token)) AS load_rows,
       varel_session.session_get(token, 'k') AS get_key,
       varel_session.session_set(token, 'k', 'v') AS set_key,
       varel_session.session_set(token, '{"k": 1}') AS set_patch,
       varel_session.session_unset(token, 'k') AS unset,
       varel_session.session_clear(token) AS clear,
       varel_session.session_touch(token) AS touch,
       varel_session.session_destroy(token) AS destroy,
       varel_session.session_regenerate(token) AS regenerate,
       varel_session.session_set_user(token, 1) AS set_user,
       varel_session.session_clear_user(token) AS clear_user,
       varel_session_internal.token_hash(token) IS NOT NULL AS has_stored_form
FROM bad_tokens ORDER BY label;

-- None of that created a row.
SELECT count(*) AS rows_created FROM varel_session.sessions;
