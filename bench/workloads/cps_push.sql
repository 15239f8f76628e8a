-- "Recently viewed", the newest 10, in one statement on connect-pg-simple's table.
\set i random({lo}, {hi})
\set v random(1, 1000000000)
UPDATE session
SET sess = jsonb_set(sess::jsonb, '{recent}', (
        SELECT coalesce(jsonb_agg(x.e ORDER BY x.o), '[]')
        FROM (SELECT a.e, a.o
              FROM jsonb_array_elements(coalesce(sess::jsonb -> 'recent', '[]') || to_jsonb(:v::bigint))
                   WITH ORDINALITY AS a(e, o)
              ORDER BY a.o DESC LIMIT 10) AS x))::json
WHERE sid = '{prefix}' || :i AND expire >= now()
RETURNING jsonb_array_length(sess::jsonb -> 'recent');
