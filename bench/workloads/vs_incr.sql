\set i random({lo}, {hi})
SELECT varel_session.session_incr('{prefix}' || :i, 'n');
