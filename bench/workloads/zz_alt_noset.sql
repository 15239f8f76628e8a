\set i random({lo}, {hi})
SELECT * FROM alt.get_noset('{prefix}' || :i);
