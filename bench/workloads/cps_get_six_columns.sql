-- connect-pg-simple's get, returning as many columns as session_get does (the session and
-- four timestamps, as text): it isolates what formatting session_get's wider row costs.
\set i random({lo}, {hi})
SELECT sess, NULL::bigint, expire::timestamptz, expire::timestamptz, expire::timestamptz, expire::timestamptz FROM session WHERE sid = '{prefix}' || :i AND expire >= now();
