-- Without pg_cron in this database, the scheduling functions say so and how to fix it.
-- (The real schedule is tested against a pg_cron database by the integration tests.)
SELECT count(*) AS pg_cron_here FROM pg_extension WHERE extname = 'pg_cron';
\set VERBOSITY default
SELECT varel_session.session_schedule_cleanup();
SELECT varel_session.session_unschedule_cleanup();
