-- A plain INSERT of a new session into connect-pg-simple's table.
\set r random(1, 9000000000000000000)
INSERT INTO session (sid, sess, expire)
VALUES ('new' || :r,
        '{"cookie": {"originalMaxAge": 86400000, "expires": 1893456000000, "httpOnly": true, "path": "/"}}',
        now() + interval '1 day');
