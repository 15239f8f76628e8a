-- Monitoring: one row about the sessions table, cheap at any size.
--
-- A monitoring scrape runs every few seconds; counting 10 million rows each time would cost more
-- than the traffic it watches. So the counts come from the planner's statistics of the last
-- ANALYZE (autovacuum keeps them fresh) and are estimates, named *_estimate; sizes, dead tuples
-- (the statistics collector's count) and the last cleanup are read directly. Nothing here reads
-- the table itself.

CREATE FUNCTION varel_session.session_stats(
    OUT live_sessions_estimate bigint,
    OUT authenticated_estimate bigint,
    OUT anonymous_estimate bigint,
    OUT expired_estimate bigint,
    OUT distinct_users_estimate bigint,
    OUT max_sessions_of_one_user_estimate bigint,
    OUT table_bytes bigint,
    OUT index_bytes bigint,
    OUT toast_bytes bigint,
    OUT dead_tuples bigint,
    OUT statistics_taken_at timestamptz,
    OUT last_cleanup_at timestamptz,
    OUT last_cleanup_removed bigint
)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl oid := 'varel_session.sessions'::regclass;
    rows_total double precision;
    anonymous_share double precision;
    expired_share double precision;
    users double precision;
    top_share double precision;
BEGIN
    -- Rows: the last ANALYZE's count, or the statistics collector's live-tuple count before the
    -- first one.
    SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples
                ELSE coalesce(pg_stat_get_live_tuples(tbl), 0) END,
           pg_relation_size(c.oid),
           pg_indexes_size(c.oid),
           CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END
    INTO rows_total, table_bytes, index_bytes, toast_bytes
    FROM pg_class AS c WHERE c.oid = tbl;
    dead_tuples := pg_stat_get_dead_tuples(tbl);
    statistics_taken_at := greatest(pg_stat_get_last_analyze_time(tbl),
                                    pg_stat_get_last_autoanalyze_time(tbl));

    -- From pg_statistic (pg_stats' source, readable here as the table's owner): the share of
    -- NULL user_id, its distinct values and its most common value's frequency.
    SELECT s.null_frac,
           CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * rows_total ELSE s.n_distinct END,
           (s.most_common_freqs)[1]
    INTO anonymous_share, users, top_share
    FROM pg_stats AS s
    WHERE s.schemaname = 'varel_session' AND s.tablename = 'sessions' AND s.attname = 'user_id';

    -- The share of sessions past a deadline, per deadline: the most common values already
    -- past, plus the rest of the rows in proportion to the histogram buckets already past (each
    -- bucket holds an equal share of the rows outside the most common values). A session is
    -- expired if either deadline passed; the larger share is the estimate.
    SELECT max(x.share) INTO expired_share
    FROM (
        SELECT coalesce((SELECT sum(m.f)
                         FROM unnest(s.most_common_vals::text::timestamptz[], s.most_common_freqs)
                              AS m(v, f)
                         WHERE m.v <= now()), 0)
               + (1 - s.null_frac - coalesce((SELECT sum(f) FROM unnest(s.most_common_freqs) AS f), 0))
                 * coalesce((SELECT count(*) FILTER (WHERE b <= now())::double precision
                                    / nullif(count(*), 0)
                             FROM unnest(s.histogram_bounds::text::timestamptz[]) AS b), 0)
               AS share
        FROM pg_stats AS s
        WHERE s.schemaname = 'varel_session' AND s.tablename = 'sessions'
          AND s.attname IN ('expires_at', 'absolute_expires_at')
    ) AS x;

    expired_estimate := round(rows_total * coalesce(expired_share, 0));
    live_sessions_estimate := round(rows_total) - expired_estimate;
    anonymous_estimate := round(live_sessions_estimate * coalesce(anonymous_share, 0));
    authenticated_estimate := live_sessions_estimate - anonymous_estimate;
    distinct_users_estimate := least(round(coalesce(users, 0)), authenticated_estimate);
    max_sessions_of_one_user_estimate := CASE
        WHEN authenticated_estimate = 0 THEN 0
        ELSE greatest(1, round(coalesce(top_share, 0) * rows_total)) END;

    SELECT l.finished_at, l.removed INTO last_cleanup_at, last_cleanup_removed
    FROM varel_session.cleanup_log AS l;
END
$$;
COMMENT ON FUNCTION varel_session.session_stats() IS
    'one row for monitoring: counts estimated from the last ANALYZE (no scan), sizes, dead tuples, the last cleanup';
