-- Sealed data (src/seal.rs, varel_session.seal_data): the table holds neither the token nor
-- the data; every call that presents the token sees the data as if it were not sealed.
CREATE TEMPORARY TABLE t (name text PRIMARY KEY, token text);
CREATE TEMPORARY VIEW stored AS
SELECT t.name, s.data AS stored_data, jsonb_typeof(s.data) AS stored_as,
       s.data::text LIKE '"vs1:%' AS sealed
FROM t JOIN varel_session.sessions s ON s.token_hash = varel_session_internal.token_hash(t.token);
SET varel_session.seal_data = on;

-- Created sealed: only a string in the table, the data through the functions.
INSERT INTO t VALUES ('a', varel_session.session_new(data => '{"cart": [1, 2], "secret": "hunter2"}')),
                     ('b', varel_session.session_new(data => '{"secret": "hunter2"}'));
SELECT name, stored_as, sealed, stored_data::text LIKE '%hunter2%' AS shows_the_data,
       stored_data::text LIKE '%' || (SELECT token FROM t x WHERE x.name = stored.name) || '%' AS shows_the_token
FROM stored ORDER BY name;
SELECT data FROM t, varel_session.session_get(token) WHERE name = 'a';
SELECT data FROM t, varel_session.session_load(token) WHERE name = 'a';
SELECT varel_session.session_get(token, 'secret') FROM t WHERE name = 'a';
-- The same data seals differently for every session (and every write).
SELECT count(DISTINCT stored_data::text) AS distinct_ciphertexts FROM stored;

-- Per-key writes and same-key atomics: opened, changed, sealed again.
SELECT varel_session.session_set(token, 'theme', 'dark') AS set,
       varel_session.session_set(token, '{"cart": null, "n": 1}'::jsonb) AS patched,
       varel_session.session_incr(token, 'n', 41) AS incr,
       varel_session.session_push(token, 'seen', '"p1"') AS pushed,
       varel_session.session_set_if(token, 'theme', '"dark"', '"light"') AS swapped
FROM t WHERE name = 'a';
SELECT varel_session.session_take(token, 'seen') AS taken FROM t WHERE name = 'a';
SELECT data FROM t, varel_session.session_get(token) WHERE name = 'a';
SELECT sealed, stored_data::text LIKE '%light%' AS shows_the_data FROM stored WHERE name = 'a';
SELECT varel_session.session_unset(token, 'n') AND varel_session.session_clear(token) AS cleared
FROM t WHERE name = 'a';
SELECT data, sealed FROM t, varel_session.session_get(token), stored
WHERE t.name = 'a' AND stored.name = 'a';
SELECT varel_session.session_set_data(token, '{"fresh": true}') FROM t WHERE name = 'a';

-- Rotations seal again under the new token: its data opens with it.
CREATE TEMPORARY TABLE before_rotation AS SELECT stored_data FROM stored WHERE name = 'b';
UPDATE t SET token = varel_session.session_regenerate(token) WHERE name = 'b';
SELECT s.stored_data <> b.stored_data AS sealed_again, s.sealed FROM stored s, before_rotation b WHERE s.name = 'b';
UPDATE t SET token = varel_session.session_set_user(token, 7) WHERE name = 'b';
UPDATE t SET token = varel_session.session_reauthenticate(token, 2::smallint) WHERE name = 'b';
UPDATE t SET token = varel_session.session_clear_user(token) WHERE name = 'b';
SELECT data FROM t, varel_session.session_get(token) WHERE name = 'b';
-- Writes that do not touch the data leave it sealed as it is.
SELECT stored_data AS before_touch FROM stored WHERE name = 'b' \gset
SELECT varel_session.session_touch(token) IS NOT NULL AS touched,
       varel_session.session_set_max_age(token, '2 hours') IS NOT NULL AS max_age_set
FROM t WHERE name = 'b';
SELECT stored_data = :'before_touch'::jsonb AS unchanged FROM stored WHERE name = 'b';

-- A framework id's session, and a claim of an imported one.
SELECT varel_session.session_adopt('c2VhbGVkLWZyYW1ld29yay1pZA', data => '{"k": "v"}') AS adopted;
INSERT INTO t VALUES ('framework', 'c2VhbGVkLWZyYW1ld29yay1pZA');
SELECT sealed, data FROM stored, varel_session.session_get('c2VhbGVkLWZyYW1ld29yay1pZA')
WHERE name = 'framework';
SELECT varel_session.session_import('sealing-test', 'oldsessionid-sealed', '{"imported": "yes"}',
                                    now() + interval '1 day') AS imported;
INSERT INTO t SELECT 'claimed', id FROM varel_session.session_claim('sealing-test', 'oldsessionid-sealed');
SELECT sealed, data FROM stored, t, varel_session.session_get(t.token)
WHERE stored.name = 'claimed' AND t.name = 'claimed';
-- Exports cannot open sealed data: the session goes out with empty data.
SELECT e.data FROM varel_session.session_export() e, varel_session.sessions s, t
WHERE t.name = 'claimed' AND s.token_hash = varel_session_internal.token_hash(t.token)
  AND e.handle = lpad(to_hex(s.handle), 16, '0');

-- Sealed data that was changed, or copied from another session's row, does not open.
UPDATE varel_session.sessions SET data = (SELECT stored_data FROM stored WHERE name = 'framework')
WHERE token_hash = (SELECT varel_session_internal.token_hash(token) FROM t WHERE name = 'claimed');
SELECT data FROM t, varel_session.session_get(token) WHERE name = 'claimed';
SELECT varel_session.session_set(token, 'k', 'v') FROM t WHERE name = 'claimed';
SELECT varel_session.session_destroy(token) AS destroyed FROM t WHERE name = 'claimed';

-- Off again: reads still open sealed data; the next write of the data stores it open.
SET varel_session.seal_data = off;
SELECT data, sealed FROM t, varel_session.session_get(token), stored
WHERE t.name = 'b' AND stored.name = 'b';
SELECT varel_session.session_set(token, 'open', 'again') FROM t WHERE name = 'b';
SELECT stored_as, sealed, stored_data FROM stored WHERE name = 'b';
-- And on: an open row is sealed at its next write.
SET varel_session.seal_data = on;
SELECT varel_session.session_set(token, 'sealed', 'again') FROM t WHERE name = 'b';
SELECT stored_as, sealed FROM stored WHERE name = 'b';
SELECT data FROM t, varel_session.session_get(token) WHERE name = 'b';
RESET varel_session.seal_data;
-- The sessions of this test end here (the cleanup test counts what earlier tests leave).
SELECT count(*) FILTER (WHERE varel_session.session_destroy(token)) AS ended FROM t;
