\set i random({lo}, {hi})
\set v random(1, 1000000000)
SELECT varel_session.session_push('{prefix}' || :i, 'recent', to_jsonb(:v::bigint), 10);
