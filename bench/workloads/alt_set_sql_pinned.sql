\set i random({lo}, {hi})
\set v random(1, 1000000000)
SELECT bench_alt.set_sql_pinned('{prefix}' || :i, 'theme', :v::text);
