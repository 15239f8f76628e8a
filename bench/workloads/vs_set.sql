\set i random({lo}, {hi})
\set v random(1, 1000000000)
SELECT varel_session.session_set('{prefix}' || :i, 'theme', :v::text);
