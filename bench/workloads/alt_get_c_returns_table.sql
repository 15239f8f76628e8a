\set i random({lo}, {hi})
SELECT * FROM bench_alt.get_c_returns_table('{prefix}' || :i);
