-- The SQL edition's design alternative bench_alt.get_regex (bench/sql_edition_alternatives.sql).
\set i random({lo}, {hi})
SELECT * FROM bench_alt.get_regex('{prefix}' || :i);
