-- A user's sessions: listing by handle, revoking one, revoking all (but one), and the cap.
SELECT varel_session.session_new(user_id => 100, ip => '198.51.100.1', user_agent => 'phone') AS phone \gset
SELECT varel_session.session_new(user_id => 100, ip => '198.51.100.2', user_agent => 'laptop') AS laptop \gset
SELECT varel_session.session_new(user_id => 100, user_agent => 'tablet') AS tablet \gset
SELECT varel_session.session_new(user_id => 200, user_agent => 'other user') AS other \gset
SELECT varel_session.session_new(user_agent => 'anonymous') AS anon \gset
-- Logging in an anonymous session also makes it the user's.
SELECT varel_session.session_set_user(:'anon', 100) AS desktop \gset

-- Newest first; handles are 16 hex characters; nothing returned is a token or its hash.
SELECT user_agent, ip, handle ~ '^[0-9a-f]{16}$' AS handle_is_hex
FROM varel_session.session_user_sessions(100);
SELECT count(*) AS leaked FROM varel_session.session_user_sessions(100) s, varel_session.sessions t
WHERE t.user_id = 100 AND (position(s.handle IN encode(t.token_hash, 'hex')) > 0
    OR s.handle IN (:'phone', :'laptop', :'tablet', :'desktop'));
SELECT count(*) AS sessions_of_nobody FROM varel_session.session_user_sessions(999);

-- The handle is stable across token rotation.
SELECT handle AS desktop_handle FROM varel_session.session_user_sessions(100) WHERE user_agent = 'anonymous' \gset
SELECT varel_session.session_regenerate(:'desktop') AS desktop \gset
SELECT count(*) AS same_handle FROM varel_session.session_user_sessions(100) WHERE handle = :'desktop_handle';

-- session_handle names "this device" in the list; it is NULL for anything that is not live.
SELECT count(*) AS current_device FROM varel_session.session_user_sessions(100)
WHERE handle = varel_session.session_handle(:'desktop');
SELECT varel_session.session_handle('garbage') IS NULL AS garbage_is_null,
       varel_session.session_handle(NULL) IS NULL AS null_is_null;

-- session_revoke: only the user's own handle, case-insensitive; malformed handles are false.
SELECT handle AS phone_handle FROM varel_session.session_user_sessions(100) WHERE user_agent = 'phone' \gset
SELECT varel_session.session_revoke(200, :'phone_handle') AS other_users_handle,
       varel_session.session_revoke(100, 'not a handle') AS malformed,
       varel_session.session_revoke(100, NULL) AS null_handle,
       varel_session.session_revoke(100, '0000000000000000') AS unknown;
SELECT varel_session.session_revoke(100, upper(:'phone_handle')) AS revoked,
       varel_session.session_revoke(100, :'phone_handle') AS again;
SELECT count(*) AS phone_rows FROM varel_session.session_get(:'phone');

-- session_user_revoke with except_id: "log out other devices" keeps the current one.
SELECT varel_session.session_user_revoke(100, :'laptop') AS ended;
SELECT user_agent FROM varel_session.session_user_sessions(100);
SELECT count(*) AS laptop_alive FROM varel_session.session_get(:'laptop');
-- Without it (or with a malformed one): everything, the current session included.
SELECT varel_session.session_user_revoke(100, 'garbage') AS ended;
SELECT count(*) AS left_for_100 FROM varel_session.session_user_sessions(100);
SELECT varel_session.session_user_revoke(100) AS nothing_left;
-- Other users are untouched.
SELECT count(*) AS other_alive FROM varel_session.session_get(:'other');

-- max_sessions_per_user: logging in beyond the cap ends the user's oldest sessions.
SET varel_session.max_sessions_per_user = 2;
SELECT varel_session.session_new(user_id => 300, user_agent => 'first') AS c1 \gset
SELECT varel_session.session_new(user_id => 300, user_agent => 'second') AS c2 \gset
SELECT user_agent FROM varel_session.session_user_sessions(300);
SELECT varel_session.session_new(user_id => 300, user_agent => 'third') AS c3 \gset
SELECT user_agent FROM varel_session.session_user_sessions(300);
SELECT count(*) AS first_alive FROM varel_session.session_get(:'c1');
-- Logging in an existing session counts it once, and evicts the oldest other.
SELECT varel_session.session_new(user_agent => 'fourth, anonymous') AS c4 \gset
SELECT varel_session.session_set_user(:'c4', 300) AS c4 \gset
SELECT user_agent FROM varel_session.session_user_sessions(300);
-- Re-logging in a session that already belongs to the user evicts nobody.
SELECT varel_session.session_set_user(:'c4', 300) AS c4 \gset
SELECT user_agent FROM varel_session.session_user_sessions(300);
-- Expired sessions do not count against the cap.
UPDATE varel_session.sessions SET expires_at = now() - interval '1 second' WHERE token_hash = varel_session_internal.token_hash(:'c3');
SELECT varel_session.session_new(user_id => 300, user_agent => 'fifth') AS c5 \gset
SELECT user_agent FROM varel_session.session_user_sessions(300);
RESET varel_session.max_sessions_per_user;
SELECT varel_session.session_user_revoke(300) AS ended, varel_session.session_user_revoke(200) AS ended_other;
