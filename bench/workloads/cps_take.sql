-- The same on connect-pg-simple's table: set, then read and remove in one statement.
\set i random({lo}, {hi})
UPDATE session SET sess = (sess::jsonb || '{"flash": "saved"}')::json
WHERE sid = '{prefix}' || :i AND expire >= now();
UPDATE session AS s SET sess = (s.sess::jsonb - 'flash')::json
FROM (SELECT sid, sess::jsonb -> 'flash' AS v FROM session
      WHERE sid = '{prefix}' || :i AND expire >= now() FOR UPDATE) AS old
WHERE s.sid = old.sid
RETURNING old.v;
