-- session_get asked for the data column only: the same output width as connect-pg-simple's
-- get, so the ratio between the two is what the function costs, without the wider row.
\set i random({lo}, {hi})
SELECT data FROM varel_session.session_get('{prefix}' || :i);
