-- Same-key atomic operations, lifetimes, "last seen": each in one row update on the server.
\set VERBOSITY default
SELECT varel_session.session_new(data => '{"keep": true}') AS t \gset

-- session_incr: a missing key counts as 0; the new value comes back.
SELECT varel_session.session_incr(:'t', 'visits') AS first,
       varel_session.session_incr(:'t', 'visits') AS second,
       varel_session.session_incr(:'t', 'visits', 10) AS plus_ten,
       varel_session.session_incr(:'t', 'visits', -20) AS minus_twenty;
SELECT data FROM varel_session.session_get(:'t');
-- Not an integer, out of range, a NULL: errors that name the key.
SELECT varel_session.session_set(:'t', '{"name": "x", "ratio": 1.5, "big": 9223372036854775807, "huge": 99999999999999999999}');
SELECT varel_session.session_incr(:'t', 'name');
SELECT varel_session.session_incr(:'t', 'ratio');
SELECT varel_session.session_incr(:'t', 'big');
SELECT varel_session.session_incr(:'t', 'huge');
SELECT varel_session.session_incr(:'t', 'visits', NULL);
SELECT varel_session.session_incr(:'t', NULL);
SELECT varel_session.session_incr(:'t', 'big', -1) AS big_minus_one;
-- No live session: NULL, never an error, nothing created.
SELECT varel_session.session_incr('not a token', 'visits') IS NULL AS malformed,
       varel_session.session_incr(repeat('0', 64), 'visits') IS NULL AS unknown;

-- session_take: the value, once.
SELECT varel_session.session_set(:'t', '{"flash": {"level": "info", "text": "saved"}}');
SELECT varel_session.session_take(:'t', 'flash') AS taken,
       varel_session.session_take(:'t', 'flash') IS NULL AS gone_after;
SELECT varel_session.session_take(:'t', 'missing') IS NULL AS missing_is_null,
       varel_session.session_take(:'t', 'keep') AS scalar_taken;
SELECT data ? 'keep' AS keep_still_there FROM varel_session.session_get(:'t');

-- session_push: appends, creating the array; keeps the newest max_items.
SELECT varel_session.session_push(:'t', 'seen', '"a"') AS one,
       varel_session.session_push(:'t', 'seen', '{"b": [1]}') AS two,
       varel_session.session_push(:'t', 'seen', 'null') AS three,
       varel_session.session_push(:'t', 'seen', '4', max_items => 3) AS capped;
SELECT data -> 'seen' AS seen FROM varel_session.session_get(:'t');
SELECT varel_session.session_push(:'t', 'seen', '5', max_items => 1) AS one_left;
SELECT data -> 'seen' AS seen FROM varel_session.session_get(:'t');
SELECT varel_session.session_push(:'t', 'name', '1');
SELECT varel_session.session_push(:'t', 'seen', '1', max_items => 0);
SELECT varel_session.session_push(:'t', 'seen', NULL);

-- session_set_if: compare-and-set by jsonb equality; NULL expected means "absent".
SELECT varel_session.session_set_if(:'t', 'step', NULL, '1') AS set_when_absent,
       varel_session.session_set_if(:'t', 'step', NULL, '2') AS not_when_present,
       varel_session.session_set_if(:'t', 'step', '1.0', '2') AS equal_number,
       varel_session.session_set_if(:'t', 'step', '1', '3') AS stale_expected;
SELECT data -> 'step' AS step FROM varel_session.session_get(:'t');
SELECT varel_session.session_set_if(:'t', 'step', '2', 'null') AS removed;
SELECT data ? 'step' AS still_there FROM varel_session.session_get(:'t');
SELECT varel_session.session_set_if('not a token', 'step', NULL, '1') IS NULL AS no_session;

-- session_set_data: replaces everything.
SELECT varel_session.session_set_data(:'t', '{"fresh": [1, 2]}') AS replaced;
SELECT data FROM varel_session.session_get(:'t');
SELECT varel_session.session_set_data(:'t', '[1]');
SELECT varel_session.session_set_data('not a token', '{}') AS no_session;

-- Size limits hold for every operation, before the session is read when the argument alone is
-- too big.
SET varel_session.max_data_bytes = 200;
SELECT varel_session.session_push(:'t', 'seen', to_jsonb(repeat('x', 300)));
SELECT varel_session.session_set_data(:'t', jsonb_build_object('x', repeat('x', 300)));
SELECT varel_session.session_set_if(:'t', 'x', NULL, to_jsonb(repeat('x', 300)));
SELECT varel_session.session_push(:'t', 'seen', to_jsonb(repeat('x', 100)));
SELECT varel_session.session_push(:'t', 'seen', to_jsonb(repeat('x', 100)));
RESET varel_session.max_data_bytes;

-- session_set_max_age: a new idle lifetime, the deadline slid to now() + max_age, never past
-- the absolute deadline.
SELECT varel_session.session_new(max_age => '30 minutes') AS m \gset
SELECT varel_session.session_set_max_age(:'m', '14 days') - now() AS remember_me;
SELECT max_age FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'m');
SELECT varel_session.session_set_max_age(:'m', '400 days') = absolute_expires_at AS capped_at_absolute
FROM varel_session.session_get(:'m');
SELECT varel_session.session_set_max_age(:'m', '0');
SELECT varel_session.session_set_max_age(:'m', NULL);
SELECT varel_session.session_set_max_age('not a token', '1 day') IS NULL AS no_session;

-- session_set_user: "remember me" at log-in, and the client of the log-in.
SELECT varel_session.session_new(max_age => '1 hour', ip => '192.0.2.1', user_agent => 'first/1') AS l \gset
SELECT varel_session.session_set_user(:'l', 77, max_age => '30 days', ip => '198.51.100.7', user_agent => 'login/2') AS l \gset
SELECT expires_at - now() BETWEEN '29 days 23:59' AND '30 days' AS thirty_days, user_id
FROM varel_session.session_get(:'l');
SELECT ip, user_agent, last_seen_at > now() - interval '1 minute' AS seen_just_now
FROM varel_session.session_user_sessions(77);
-- Without them, the lifetime and the client stay as they were.
SELECT varel_session.session_set_user(:'l', 77) AS l \gset
SELECT expires_at - now() BETWEEN '29 days 23:59' AND '30 days' AS still_thirty_days
FROM varel_session.session_get(:'l');
SELECT ip, user_agent FROM varel_session.session_user_sessions(77);
SELECT varel_session.session_set_user(:'l', 77, max_age => '-1 day');

-- last_seen_at: set at creation, by every write and by slides.
SELECT varel_session.session_new() AS s \gset
UPDATE varel_session.sessions SET last_seen_at = now() - interval '1 hour'
WHERE token_hash = varel_session_internal.token_hash(:'s');
SELECT varel_session.session_incr(:'s', 'n') AS n;
SELECT last_seen_at > now() - interval '1 minute' AS seen_by_write FROM varel_session.sessions
WHERE token_hash = varel_session_internal.token_hash(:'s');
UPDATE varel_session.sessions SET last_seen_at = NULL
WHERE token_hash = varel_session_internal.token_hash(:'s');
SELECT varel_session.session_touch(:'s') IS NOT NULL AS touched;
SELECT last_seen_at > now() - interval '1 minute' AS seen_by_touch FROM varel_session.sessions
WHERE token_hash = varel_session_internal.token_hash(:'s');

-- session_get under a SCROLL cursor: its result can be read backwards too.
BEGIN;
DECLARE back SCROLL CURSOR FOR SELECT data FROM varel_session.session_get(:'s');
FETCH NEXT FROM back;
FETCH PRIOR FROM back;
FETCH NEXT FROM back;
COMMIT;
