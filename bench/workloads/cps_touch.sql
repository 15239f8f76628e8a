-- connect-pg-simple's touch.
\set i random({lo}, {hi})
UPDATE session SET expire = now() + interval '1 day' WHERE sid = '{prefix}' || :i;
