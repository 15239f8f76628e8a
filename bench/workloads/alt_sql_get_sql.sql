-- The SQL edition's design alternative bench_alt.get_sql (bench/sql_edition_alternatives.sql).
\set i random({lo}, {hi})
SELECT * FROM bench_alt.get_sql('{prefix}' || :i);
