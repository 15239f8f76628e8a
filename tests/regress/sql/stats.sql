-- session_stats(): one row for monitoring. Its counts are estimates from the last ANALYZE (no
-- scan of the table); on a table this small ANALYZE reads every row, so here they must equal
-- the exact counts.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS varel_session CASCADE;
CREATE EXTENSION varel_session;
RESET client_min_messages;
SELECT count(varel_session.session_new(user_id => CASE WHEN i % 4 = 0 THEN NULL ELSE i % 50 END))
FROM generate_series(1, 2000) AS i;
-- 300 sessions past their idle deadline, 100 past their absolute one.
UPDATE varel_session.sessions SET expires_at = now() - interval '1 minute'
WHERE ctid IN (SELECT ctid FROM varel_session.sessions ORDER BY handle LIMIT 300);
UPDATE varel_session.sessions SET absolute_expires_at = now() - interval '1 minute',
                                  expires_at = least(expires_at, now() - interval '1 minute')
WHERE ctid IN (SELECT ctid FROM varel_session.sessions WHERE expires_at > now() ORDER BY handle LIMIT 100);
ANALYZE varel_session.sessions;

WITH exact AS (
    SELECT count(*) FILTER (WHERE live) AS live,
           count(*) FILTER (WHERE live AND user_id IS NOT NULL) AS authenticated,
           count(*) FILTER (WHERE NOT live) AS expired,
           count(DISTINCT user_id) AS users,
           (SELECT count(*) FROM varel_session.sessions WHERE user_id IS NOT NULL
            GROUP BY user_id ORDER BY count(*) DESC LIMIT 1) AS top_user
    FROM (SELECT user_id, expires_at > now() AND (absolute_expires_at IS NULL OR absolute_expires_at > now()) AS live
          FROM varel_session.sessions) s
)
SELECT abs(st.live_sessions_estimate - e.live) <= 40 AS live_close,
       abs(st.authenticated_estimate - e.authenticated) <= 40 AS authenticated_close,
       st.authenticated_estimate + st.anonymous_estimate = st.live_sessions_estimate AS parts_add_up,
       abs(st.expired_estimate - e.expired) <= 40 AS expired_close,
       st.distinct_users_estimate = e.users AS users_exact,
       st.max_sessions_of_one_user_estimate = e.top_user AS top_user_exact,
       st.table_bytes = pg_relation_size('varel_session.sessions') AS table_bytes,
       st.index_bytes = pg_indexes_size('varel_session.sessions') AS index_bytes,
       st.toast_bytes >= 0 AS toast_bytes,
       st.statistics_taken_at IS NOT NULL AS analyzed,
       st.last_cleanup_at IS NULL AS never_cleaned
FROM varel_session.session_stats() st, exact e;

-- Cleanup records its runs.
SELECT varel_session.session_cleanup() AS removed;
SELECT last_cleanup_at > now() - interval '1 minute' AS just_now, last_cleanup_removed
FROM varel_session.session_stats();

-- It reads no row of the table: within one transaction, the table's scan counters do not move.
BEGIN;
SELECT seq_scan AS seq_before, coalesce(idx_scan, 0) AS idx_before
FROM pg_stat_xact_user_tables WHERE relid = 'varel_session.sessions'::regclass \gset
SELECT count(*) AS rows FROM varel_session.session_stats();
SELECT seq_scan = :seq_before AND coalesce(idx_scan, 0) = :idx_before AS no_scan
FROM pg_stat_xact_user_tables WHERE relid = 'varel_session.sessions'::regclass;
COMMIT;

SET client_min_messages = warning;
DROP EXTENSION varel_session CASCADE;
CREATE EXTENSION varel_session;
RESET client_min_messages;
