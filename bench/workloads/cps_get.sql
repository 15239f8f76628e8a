-- connect-pg-simple's get.
\set i random({lo}, {hi})
SELECT sess FROM session WHERE sid = '{prefix}' || :i AND expire >= now();
