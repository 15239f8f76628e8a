\set i random({lo}, {hi})
SELECT * FROM varel_session.session_get('{prefix}' || :i);
