\set i random({lo}, {hi})
SELECT * FROM bench_alt.get_c_unchecked('{prefix}' || :i);
