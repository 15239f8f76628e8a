-- Last, after sql/privileges.sql (which names it): the C edition's trigger that refreshes
-- updated_at on an administrator's direct UPDATE of data or user_id (sql/schema.sql) is left
-- out of the SQL edition. Its own writes are UPDATEs, and any BEFORE UPDATE row trigger makes
-- every one of them lock the row before updating it and call PL/pgSQL: about a tenth of
-- session_set's throughput (BENCHMARKS.md). The functions set updated_at themselves, as the
-- C edition's do; an administrator's UPDATE sets it if it should change.
DROP TRIGGER sessions_set_updated_at ON varel_session.sessions;
DROP FUNCTION varel_session_internal.sessions_set_updated_at();
