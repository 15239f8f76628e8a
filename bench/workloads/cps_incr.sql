-- What an app on connect-pg-simple's table writes for a counter in one statement.
\set i random({lo}, {hi})
UPDATE session
SET sess = jsonb_set(sess::jsonb, '{n}', to_jsonb(coalesce((sess::jsonb ->> 'n')::bigint, 0) + 1))::json
WHERE sid = '{prefix}' || :i AND expire >= now()
RETURNING (sess::jsonb ->> 'n')::bigint;
