\set i random({lo}, {hi})
SELECT * FROM alt.get_next('{prefix}' || :i);
