-- A session's whole life through the SQL API, as any application would call it.
-- Tokens are random, so they go into psql variables and are never printed.

-- session_new: defaults (24 h idle lifetime, 30-day cap, empty data, anonymous).
SELECT varel_session.session_new() AS t \gset
SELECT data, user_id, created_at = updated_at AS fresh,
       expires_at - created_at AS idle_lifetime,
       absolute_expires_at - created_at AS hard_cap
FROM varel_session.session_get(:'t');

-- Everything at once, with an explicit lifetime.
SELECT varel_session.session_new(max_age => '30 minutes', user_id => 7,
    data => '{"theme": "dark"}', ip => '192.0.2.1', user_agent => 'regress/1.0') AS u \gset
SELECT data, user_id, expires_at - created_at AS idle_lifetime FROM varel_session.session_get(:'u');
SELECT ip, user_agent, max_age FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'u');

-- The token is 64 lowercase hex characters; only its SHA-256 is stored.
SELECT :'t' ~ '^[0-9a-f]{64}$' AS token_is_hex,
       (SELECT count(*) FROM varel_session.sessions WHERE token_hash = sha256(decode(:'t', 'hex'))) AS stored_as_hash,
       (SELECT count(*) FROM varel_session.sessions WHERE position(convert_to(:'t', 'UTF8') IN token_hash) > 0
            OR data::text LIKE '%' || :'t' || '%') AS stored_in_clear;

-- Upper-case hex is the same token.
SELECT count(*) AS found_by_upper_case FROM varel_session.session_get(upper(:'t'));

-- session_set(id, key, value): one key, as a JSON string; other keys are kept.
SELECT varel_session.session_set(:'t', 'cart', '3 items') AS set_cart,
       varel_session.session_set(:'t', 'lang', 'fr') AS set_lang;
SELECT data FROM varel_session.session_get(:'t');
SELECT varel_session.session_get(:'t', 'cart') AS cart,
       varel_session.session_get(:'t', 'missing') AS missing;

-- Values that look like JSON stay strings.
SELECT varel_session.session_set(:'t', 'n', '42'), varel_session.session_set(:'t', 'obj', '{"a":1}');
SELECT jsonb_typeof(data -> 'n') AS n_type, jsonb_typeof(data -> 'obj') AS obj_type
FROM varel_session.session_get(:'t');

-- session_set(id, patch): a top-level merge patch. Keys set, JSON null removes, others kept.
SELECT varel_session.session_set(:'t', '{"lang": null, "n": 43, "prefs": {"a": [1, 2]}, "flag": true}');
SELECT data FROM varel_session.session_get(:'t');
SELECT varel_session.session_get(:'t', 'n') AS n, varel_session.session_get(:'t', 'prefs') AS prefs,
       varel_session.session_get(:'t', 'flag') AS flag;
-- Nested objects are replaced, not merged (one level deep).
SELECT varel_session.session_set(:'t', '{"prefs": {"b": 1}}');
SELECT data -> 'prefs' AS prefs FROM varel_session.session_get(:'t');
-- An empty patch changes nothing, and says the session is live.
SELECT varel_session.session_set(:'t', '{}'::jsonb) AS live;

-- session_unset and session_clear.
SELECT varel_session.session_unset(:'t', 'cart') AS unset, varel_session.session_unset(:'t', 'never-there') AS unset_absent;
SELECT data ? 'cart' AS has_cart FROM varel_session.session_get(:'t');
SELECT varel_session.session_clear(:'t') AS cleared;
SELECT data FROM varel_session.session_get(:'t');

-- Several writes in one statement all land (each sees the one before it).
SELECT varel_session.session_set(:'t', 'a', '1'), varel_session.session_set(:'t', 'b', '2'),
       varel_session.session_unset(:'t', 'a'), varel_session.session_set(:'t', '{"c": 3}');
SELECT data FROM varel_session.session_get(:'t');

-- session_load returns the same row as session_get.
SELECT (SELECT row(g.*)::text FROM varel_session.session_get(:'t') g)
     = (SELECT row(l.*)::text FROM varel_session.session_load(:'t') l) AS load_equals_get;

-- session_touch slides the idle deadline to now() + max_age and returns it.
UPDATE varel_session.sessions SET expires_at = now() + interval '1 hour' WHERE token_hash = varel_session_internal.token_hash(:'t');
SELECT varel_session.session_touch(:'t') - now() AS slid_to;
SELECT expires_at - now() BETWEEN interval '23:59' AND interval '24:00' AS about_a_day_left
FROM varel_session.session_get(:'t');

-- session_regenerate: same session, new token; the old one stops working at once.
SELECT varel_session.session_regenerate(:'t') AS t2 \gset
SELECT :'t2' <> :'t' AS new_token, :'t2' ~ '^[0-9a-f]{64}$' AS token_is_hex;
SELECT count(*) AS old_token_rows FROM varel_session.session_get(:'t');
SELECT data FROM varel_session.session_get(:'t2');
SELECT varel_session.session_set(:'t', 'x', 'y') AS set_with_old_token,
       varel_session.session_regenerate(:'t') IS NULL AS regenerate_old_is_null;

-- session_set_user: log in. New token, user set, absolute deadline restarted.
UPDATE varel_session.sessions SET absolute_expires_at = now() + interval '1 hour'
WHERE token_hash = varel_session_internal.token_hash(:'t2');
SELECT varel_session.session_set_user(:'t2', 42) AS t3 \gset
SELECT count(*) AS old_token_rows FROM varel_session.session_get(:'t2');
SELECT user_id, data,
       absolute_expires_at - now() BETWEEN interval '29 days 23:59' AND interval '30 days' AS cap_restarted,
       expires_at - now() BETWEEN interval '23:59' AND interval '24:00' AS idle_slid
FROM varel_session.session_get(:'t3');

-- session_clear_user: log out but keep the data. New token again.
SELECT varel_session.session_clear_user(:'t3') AS t4 \gset
SELECT count(*) AS old_token_rows FROM varel_session.session_get(:'t3');
SELECT user_id, data FROM varel_session.session_get(:'t4');

-- session_destroy: true once, then false; the token is worthless afterwards.
SELECT varel_session.session_destroy(:'t4') AS destroyed, varel_session.session_destroy(:'t4') AS again;
SELECT count(*) AS rows FROM varel_session.session_get(:'t4');
SELECT varel_session.session_set(:'t4', 'k', 'v') AS set_after_destroy,
       varel_session.session_touch(:'t4') AS touch_after_destroy,
       varel_session.session_set_user(:'t4', 1) AS login_after_destroy;
SELECT count(*) AS revived FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash(:'t4');

SELECT varel_session.session_destroy(:'u');
