\set i random({lo}, {hi})
SELECT * FROM alt.get_invoker('{prefix}' || :i);
