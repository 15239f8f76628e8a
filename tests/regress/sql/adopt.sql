-- Framework ids: sessions created under an id a web framework minted (session_adopt), which
-- every function then accepts as it accepts a token. The ids here are fixed strings of a
-- framework id's form (real ones come from the framework's CSPRNG).

-- tower-sessions' form (22 URL-safe base64 characters) and scs's (43).
SELECT varel_session.session_adopt('Zm9yLXRvd2VyLXNlc3Npb24', data => '{"a": 1}') AS adopted,
       varel_session.session_adopt('c2NzLW1pbnRzLTMyLWJ5dGVzLWluLWJhc2U2NC11cmw',
           max_age => '2 hours', user_id => 7, ip => '192.0.2.9', user_agent => 'scs/2') AS adopted_scs;
SELECT data, user_id, expires_at - created_at AS idle_lifetime
FROM varel_session.session_get('Zm9yLXRvd2VyLXNlc3Npb24');
SELECT data, user_id, expires_at - created_at AS idle_lifetime
FROM varel_session.session_get('c2NzLW1pbnRzLTMyLWJ5dGVzLWluLWJhc2U2NC11cmw');

-- Only the hash is stored: SHA-256 of 'varel_session framework id:' and the id.
SELECT count(*) AS stored_as_hash FROM varel_session.sessions
WHERE token_hash = sha256(convert_to('varel_session framework id:Zm9yLXRvd2VyLXNlc3Npb24', 'UTF8'));
SELECT count(*) AS stored_in_clear FROM varel_session.sessions
WHERE position(convert_to('Zm9yLXRvd2VyLXNlc3Npb24', 'UTF8') IN token_hash) > 0
   OR data::text LIKE '%Zm9yLXRvd2VyLXNlc3Npb24%' OR user_agent LIKE '%Zm9yLXRvd2VyLXNlc3Npb24%';

-- Every function takes it: writes, same-key operations, the handle, the user's listing.
SELECT varel_session.session_set('Zm9yLXRvd2VyLXNlc3Npb24', 'k', 'v') AS set_key,
       varel_session.session_set('Zm9yLXRvd2VyLXNlc3Npb24', '{"b": 2}') AS set_patch,
       varel_session.session_incr('Zm9yLXRvd2VyLXNlc3Npb24', 'n') AS incr,
       varel_session.session_incr('Zm9yLXRvd2VyLXNlc3Npb24', 'n') AS incr_again;
SELECT varel_session.session_get('Zm9yLXRvd2VyLXNlc3Npb24', 'k') AS get_key,
       varel_session.session_handle('Zm9yLXRvd2VyLXNlc3Npb24') ~ '^[0-9a-f]{16}$' AS has_handle;
SELECT data FROM varel_session.session_load('Zm9yLXRvd2VyLXNlc3Npb24');
SELECT count(*) AS listed, bool_and(user_agent = 'scs/2') AS client_recorded
FROM varel_session.session_user_sessions(7);

-- A framework id is case-sensitive (a token of the extension's own form is not); a changed
-- character names nothing.
SELECT (SELECT count(*) FROM varel_session.session_get('ZM9YLXRVD2VYLXNLC3NPB24')) AS upper_case,
       (SELECT count(*) FROM varel_session.session_get('Zm9yLXRvd2VyLXNlc3Npb25')) AS one_changed,
       (SELECT count(*) FROM varel_session.session_get('Zm9yLXRvd2VyLXNlc3Npb2')) AS one_short;

-- An id stored already is not adopted again, live or expired (until cleanup removes it), and
-- nothing about the stored session changes.
SELECT varel_session.session_adopt('Zm9yLXRvd2VyLXNlc3Npb24', data => '{"evil": true}') AS again;
SELECT data ? 'evil' AS overwritten FROM varel_session.session_get('Zm9yLXRvd2VyLXNlc3Npb24');
SELECT varel_session.session_adopt('ZXhwaXJlcy1iZWZvcmUtY2xlYW51cA', data => '{"old": 1}') AS adopted;
UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'
WHERE token_hash = varel_session_internal.token_hash('ZXhwaXJlcy1iZWZvcmUtY2xlYW51cA');
SELECT count(*) AS expired_is_live FROM varel_session.session_get('ZXhwaXJlcy1iZWZvcmUtY2xlYW51cA');
SELECT varel_session.session_adopt('ZXhwaXJlcy1iZWZvcmUtY2xlYW51cA') AS adopted_while_expired;

-- Rotating an adopted session gives it a token of the extension's own form; the id dies.
SELECT varel_session.session_regenerate('Zm9yLXRvd2VyLXNlc3Npb24') AS rotated \gset
SELECT :'rotated' ~ '^[0-9a-f]{64}$' AS rotated_to_own_form,
       (SELECT count(*) FROM varel_session.session_get('Zm9yLXRvd2VyLXNlc3Npb24')) AS old_id_rows,
       (SELECT data FROM varel_session.session_get(:'rotated')) AS data_kept;

-- A destroyed session's id names nothing; the store has no memory of it, so adopting it again
-- makes a new, empty session (an adapter adopts only ids its framework just minted).
SELECT varel_session.session_destroy('c2NzLW1pbnRzLTMyLWJ5dGVzLWluLWJhc2U2NC11cmw') AS destroyed;
SELECT count(*) AS destroyed_rows FROM varel_session.session_get('c2NzLW1pbnRzLTMyLWJ5dGVzLWluLWJhc2U2NC11cmw');

-- An id of the extension's own form may be adopted too (a framework minting 32 random bytes in
-- hex); it is then the same token in either case.
SELECT varel_session.session_generate_id() AS own \gset
SELECT varel_session.session_adopt(:'own') AS adopted_own_form;
SELECT count(*) AS found_by_upper_case FROM varel_session.session_get(upper(:'own'));

-- With a user, the per-user cap applies, as to any log-in.
SET varel_session.max_sessions_per_user = 1;
SELECT varel_session.session_adopt('Y2FwcGVkLXVzZXItZmlyc3Qtc2Vzc2lvbg', user_id => 8) AS first;
SELECT varel_session.session_adopt('Y2FwcGVkLXVzZXItc2Vjb25kLXNlc3Npb24', user_id => 8) AS second;
SELECT (SELECT count(*) FROM varel_session.session_get('Y2FwcGVkLXVzZXItZmlyc3Qtc2Vzc2lvbg')) AS first_live,
       (SELECT count(*) FROM varel_session.session_get('Y2FwcGVkLXVzZXItc2Vjb25kLXNlc3Npb24')) AS second_live;
RESET varel_session.max_sessions_per_user;

-- The id is the caller's own: one not of a framework id's form is a programmer's mistake.
\set VERBOSITY terse
SELECT varel_session.session_adopt(NULL);
SELECT varel_session.session_adopt('too-short');
SELECT varel_session.session_adopt(repeat('a', 129));
SELECT varel_session.session_adopt('has spaces in it, twenty-two');
SELECT varel_session.session_adopt('padded-base64-ends-with==');
SELECT varel_session.session_adopt('Y2hlY2tzLWZpcnN0LWFyZ3VtZW50cw', data => NULL);
SELECT varel_session.session_adopt('Y2hlY2tzLWZpcnN0LWFyZ3VtZW50cw', data => '[]');
SELECT varel_session.session_adopt('Y2hlY2tzLWZpcnN0LWFyZ3VtZW50cw', max_age => '-1 hour');
BEGIN READ ONLY;
SELECT varel_session.session_adopt('cmVhZC1vbmx5LXRyYW5zYWN0aW9u');
ROLLBACK;
\set VERBOSITY default
SELECT count(*) AS created_by_mistakes FROM varel_session.sessions
WHERE token_hash IN (varel_session_internal.token_hash('Y2hlY2tzLWZpcnN0LWFyZ3VtZW50cw'),
                     varel_session_internal.token_hash('cmVhZC1vbmx5LXRyYW5zYWN0aW9u'));

TRUNCATE varel_session.sessions;
