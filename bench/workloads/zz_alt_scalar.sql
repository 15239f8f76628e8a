\set i random({lo}, {hi})
SELECT * FROM alt.get_scalar('{prefix}' || :i);
