-- Nothing is reachable by default. An application role gets the API with two statements
-- (docs/security.md):
--     GRANT USAGE ON SCHEMA varel_session TO app;
--     GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO app;
-- which grant exactly the API: the extension's own helpers are in varel_session_internal,
-- which only its owner uses. Procedures (the pg_cron cleanup) are not functions and stay with
-- the administrator.

REVOKE ALL ON SCHEMA varel_session_internal FROM PUBLIC;
REVOKE ALL ON TABLE varel_session.sessions FROM PUBLIC;
REVOKE ALL ON TABLE varel_session.cleanup_log FROM PUBLIC;
REVOKE ALL ON TABLE varel_session.imported_sessions FROM PUBLIC;
REVOKE ALL ON TABLE varel_session.idp_logins FROM PUBLIC;

REVOKE ALL ON FUNCTION varel_session_internal.sessions_set_updated_at() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_generate_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_new(interval, bigint, jsonb, inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_adopt(text, interval, bigint, jsonb, inet, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_load(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_get(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_unset(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_clear(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_touch(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_destroy(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_regenerate(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_user(text, bigint, interval, inet, text, smallint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_reauthenticate(text, smallint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_auth_recent(text, interval, smallint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_incr(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_take(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_push(text, text, jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_if(text, text, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_data(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_max_age(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.notify_event(text, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.events_on() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.cleanup_finished(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_clear_user(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.token_hash(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.lock_user(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_user_sessions(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_handle(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_revoke(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_user_revoke(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.cleanup_plan(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.cleanup_blocks(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_cleanup(integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE varel_session.session_cleanup_run(integer, interval, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.require_pg_cron() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_schedule_cleanup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_unschedule_cleanup() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.is_live(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.imported_id_hash(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.check_store_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_import(text, text, jsonb, timestamptz, bigint, timestamptz, interval, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_import_prune(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_claim(text, text, inet, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_export() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_import_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.csrf_token_for(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_csrf_token(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_csrf_verify(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.revoke_all_imports() FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.revoke_all_rest(timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session_internal.revoke_all_blocks(bigint, integer, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_revoke_all() FROM PUBLIC;
REVOKE ALL ON PROCEDURE varel_session.session_revoke_all_run(integer, interval, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_list(bigint, timestamptz, smallint, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_set_idp(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION varel_session.session_revoke_idp(text, text, text) FROM PUBLIC;
