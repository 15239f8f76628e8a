-- session_generate_id(): 64 lowercase hex characters from 32 CSPRNG bytes, never repeating.
SELECT length(id) AS length, id ~ '^[0-9a-f]{64}$' AS lowercase_hex
FROM varel_session.session_generate_id() AS id;

-- 100,000 calls: all well formed, all different.
SELECT count(*) AS calls,
       count(DISTINCT id) AS distinct_ids,
       bool_and(id ~ '^[0-9a-f]{64}$') AS all_lowercase_hex
FROM (SELECT varel_session.session_generate_id() AS id FROM generate_series(1, 100000)) ids;

-- Every byte value shows up in each position over many ids: the bytes are not biased towards
-- a subset (a crude check that the ids are not, say, hex of ASCII text).
SELECT count(DISTINCT substr(id, 1, 2)) AS first_byte_values,
       count(DISTINCT substr(id, 63, 2)) AS last_byte_values
FROM (SELECT varel_session.session_generate_id() AS id FROM generate_series(1, 20000)) ids;

-- A fresh id is a token the API accepts as well formed, yet names no session.
SELECT count(*) AS rows FROM varel_session.session_get(varel_session.session_generate_id());
