\set i random({lo}, {hi})
SELECT * FROM bench_alt.get_sql_definer('{prefix}' || :i);
