\set i random({lo}, {hi})
SELECT * FROM varel_session.session_load('{prefix}' || :i);
