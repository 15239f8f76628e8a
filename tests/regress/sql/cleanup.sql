-- Cleanup removes sessions past either deadline, keeps live ones, and can run in batches.
SELECT count(*) AS leftover FROM varel_session.sessions WHERE expires_at > now();
DELETE FROM varel_session.sessions;

-- 3,000 live sessions, 2,000 idle-expired and 1,000 absolute-expired, interleaved on disk.
SELECT count(varel_session.session_new(data => jsonb_build_object('i', i))) FROM generate_series(1, 6000) i;
UPDATE varel_session.sessions SET expires_at = now() - interval '1 second' WHERE (data ->> 'i')::int % 3 = 1;
UPDATE varel_session.sessions SET absolute_expires_at = now() - interval '1 second' WHERE (data ->> 'i')::int % 6 = 2;
SELECT count(*) FILTER (WHERE expires_at <= now() OR absolute_expires_at <= now()) AS expired,
       count(*) FILTER (WHERE expires_at > now() AND absolute_expires_at > now()) AS live
FROM varel_session.sessions;

-- Small batches: same result as one big one.
SELECT varel_session.session_cleanup(batch_size => 100) AS deleted;
SELECT count(*) AS remaining, bool_and(expires_at > now() AND absolute_expires_at > now()) AS all_live
FROM varel_session.sessions;
SELECT varel_session.session_cleanup() AS nothing_more;

-- The procedure for pg_cron: commits after each batch, reports what it deleted.
UPDATE varel_session.sessions SET expires_at = now() - interval '1 second' WHERE (data ->> 'i')::int % 2 = 0;
CALL varel_session.session_cleanup_run(batch_size => 500);
SELECT count(*) AS remaining FROM varel_session.sessions;

-- A batch covers a range of blocks and is planned as a TID range scan, not a full scan.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT s.ctid FROM varel_session.sessions AS s
WHERE s.ctid >= '(0,0)'::tid AND s.ctid < '(10,0)'::tid;
RESET enable_seqscan;
DELETE FROM varel_session.sessions;
