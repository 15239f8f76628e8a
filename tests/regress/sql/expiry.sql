-- Every deadline is checked on read: an expired session is invisible even if cleanup never ran,
-- and no write brings it back. (Deadlines are moved into the past with direct UPDATEs, as an
-- administrator could, instead of waiting.)
CREATE FUNCTION pg_temp.expire_idle(token text) RETURNS void LANGUAGE sql AS $$
    UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'
    WHERE token_hash = varel_session_internal.token_hash(token)
$$;
CREATE FUNCTION pg_temp.expire_absolute(token text) RETURNS void LANGUAGE sql AS $$
    UPDATE varel_session.sessions SET absolute_expires_at = now() - interval '1 second'
    WHERE token_hash = varel_session_internal.token_hash(token)
$$;
CREATE FUNCTION pg_temp.everything(token text) RETURNS TABLE (fn text, result text) LANGUAGE sql AS $$
    VALUES ('get',        (SELECT count(*) FROM varel_session.session_get(token))::text),
           ('load',       (SELECT count(*) FROM varel_session.session_load(token))::text),
           ('get key',    varel_session.session_get(token, 'k')),
           ('set',        varel_session.session_set(token, 'k', 'v')::text),
           ('patch',      varel_session.session_set(token, '{"k": 1}')::text),
           ('unset',      varel_session.session_unset(token, 'k')::text),
           ('clear',      varel_session.session_clear(token)::text),
           ('touch',      varel_session.session_touch(token)::text),
           ('regenerate', varel_session.session_regenerate(token)),
           ('set_user',   varel_session.session_set_user(token, 5)),
           ('clear_user', varel_session.session_clear_user(token)),
           ('destroy',    varel_session.session_destroy(token)::text)
$$;

-- Idle deadline passed.
SELECT varel_session.session_new(data => '{"k": "before"}') AS idle \gset
SELECT pg_temp.expire_idle(:'idle');
SELECT * FROM pg_temp.everything(:'idle');
-- Still in the table (cleanup has not run), unchanged by any of the writes above.
SELECT data, expires_at < now() AS still_expired FROM varel_session.sessions
WHERE token_hash = varel_session_internal.token_hash(:'idle');

-- Absolute deadline passed, idle deadline still ahead.
SELECT varel_session.session_new(data => '{"k": "before"}') AS hard \gset
SELECT pg_temp.expire_absolute(:'hard');
SELECT * FROM pg_temp.everything(:'hard');
SELECT data, expires_at > now() AS idle_ahead FROM varel_session.sessions
WHERE token_hash = varel_session_internal.token_hash(:'hard');

-- The idle deadline never slides past the absolute one.
SELECT varel_session.session_new() AS capped \gset
UPDATE varel_session.sessions SET absolute_expires_at = now() + interval '10 minutes',
                                  expires_at = now() + interval '1 minute'
WHERE token_hash = varel_session_internal.token_hash(:'capped');
SELECT varel_session.session_touch(:'capped') = absolute_expires_at AS touch_capped,
       expires_at = absolute_expires_at AS load_capped
FROM varel_session.session_load(:'capped');

-- varel_session.absolute_timeout: 0 means no cap; a short cap also caps the first deadline.
-- (session_get is STABLE: it sees the statement's snapshot, so each new session is read in the
-- next statement.)
SET varel_session.absolute_timeout = 0;
SELECT varel_session.session_new() AS s \gset
SELECT absolute_expires_at IS NULL AS no_cap, expires_at - created_at AS idle_lifetime
FROM varel_session.session_get(:'s');
SET varel_session.absolute_timeout = '1h';
SELECT varel_session.session_new() AS s \gset
SELECT absolute_expires_at - created_at AS cap, expires_at - created_at AS idle_lifetime
FROM varel_session.session_get(:'s');
RESET varel_session.absolute_timeout;

-- varel_session.max_age is the default idle lifetime.
SET varel_session.max_age = '15min';
SELECT varel_session.session_new() AS s \gset
SELECT expires_at - created_at AS idle_lifetime FROM varel_session.session_get(:'s');
SELECT varel_session.session_new(max_age => '2 hours') AS s \gset
SELECT expires_at - created_at AS explicit_wins FROM varel_session.session_get(:'s');
RESET varel_session.max_age;
SHOW varel_session.max_age;
SHOW varel_session.absolute_timeout;
SHOW varel_session.max_data_bytes;
SHOW varel_session.max_sessions_per_user;

-- session_load's throttle: it writes only when less than 80% of max_age is left.
-- A write shows as a new row version (a new ctid).
SELECT varel_session.session_new(max_age => '100 minutes') AS l \gset
CREATE TEMP TABLE versions AS
    SELECT 'created' AS step, ctid AS version FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
SELECT count(*) FROM varel_session.session_load(:'l');
INSERT INTO versions SELECT 'load, 100% left', ctid FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
UPDATE varel_session.sessions SET expires_at = now() + interval '81 minutes' WHERE token_hash = varel_session_internal.token_hash(:'l');
INSERT INTO versions SELECT 'set to 81% left', ctid FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
SELECT count(*) FROM varel_session.session_load(:'l');
INSERT INTO versions SELECT 'load, 81% left', ctid FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
UPDATE varel_session.sessions SET expires_at = now() + interval '79 minutes' WHERE token_hash = varel_session_internal.token_hash(:'l');
INSERT INTO versions SELECT 'set to 79% left', ctid FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
SELECT expires_at - now() AS slid_to FROM varel_session.session_load(:'l');
INSERT INTO versions SELECT 'load, 79% left', ctid FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
-- A burst of loads right after: no further write.
SELECT count(*) FROM varel_session.session_load(:'l'), generate_series(1, 50);
INSERT INTO versions SELECT 'after 50 more loads', ctid FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');
SELECT step, version = lag(version) OVER () AS same_version_as_before FROM versions;

-- session_get never writes, even when a refresh is due.
UPDATE varel_session.sessions SET expires_at = now() + interval '1 minute' WHERE token_hash = varel_session_internal.token_hash(:'l');
SELECT ctid AS before FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l') \gset
SELECT count(*) FROM varel_session.session_get(:'l');
SELECT ctid = :'before' AS unchanged FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'l');

-- In a read-only transaction, session_load still reads (and skips its refresh); writes refuse.
BEGIN TRANSACTION READ ONLY;
SELECT expires_at - now() < interval '2 minutes' AS not_slid FROM varel_session.session_load(:'l');
SELECT varel_session.session_set(:'l', 'k', 'v');
ROLLBACK;
