\set i random({lo}, {hi})
SELECT * FROM alt.get_sql('{prefix}' || :i);
