-- connect-pg-simple's save: the whole session, upserted.
-- (pgbench replaces `:name` even inside quotes, so every JSON colon is followed by a space.)
\set i random({lo}, {hi})
\set v random(1, 1000000000)
INSERT INTO session (sid, sess, expire)
VALUES ('{prefix}' || :i,
        ('{"cookie": {"originalMaxAge": 86400000, "expires": 1893456000000, "httpOnly": true, "path": "/"}, "csrf": "q8Zb1t0PdkY3vWnHs2xLmA", "theme": "' || :v::text || '"}')::json,
        now() + interval '1 day')
ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire;
