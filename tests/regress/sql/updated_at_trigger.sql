-- updated_at follows data and user_id changes, including an administrator's direct UPDATE,
-- but not an UPDATE that only slides the expiry.
SELECT varel_session.session_new() AS token \gset
SELECT varel_session_internal.token_hash(:'token') AS hash \gset

-- Pretend the session was written an hour ago, so any refresh of updated_at is visible.
ALTER TABLE varel_session.sessions DISABLE TRIGGER sessions_set_updated_at;
UPDATE varel_session.sessions SET updated_at = updated_at - interval '1 hour' WHERE token_hash = :'hash';
ALTER TABLE varel_session.sessions ENABLE TRIGGER sessions_set_updated_at;

-- Expiry only: updated_at stays an hour old.
UPDATE varel_session.sessions SET expires_at = expires_at + interval '5 minutes' WHERE token_hash = :'hash';
SELECT now() - updated_at >= interval '1 hour' AS still_old FROM varel_session.sessions WHERE token_hash = :'hash';

-- Naming data in SET without changing it: still old.
UPDATE varel_session.sessions SET data = data WHERE token_hash = :'hash';
SELECT now() - updated_at >= interval '1 hour' AS still_old FROM varel_session.sessions WHERE token_hash = :'hash';

-- Data changes: updated_at becomes now().
UPDATE varel_session.sessions SET data = '{"a": 1}' WHERE token_hash = :'hash';
SELECT now() - updated_at < interval '1 minute' AS refreshed FROM varel_session.sessions WHERE token_hash = :'hash';

-- User changes (in a later transaction, so now() differs): refreshed again.
BEGIN;
UPDATE varel_session.sessions SET updated_at = updated_at - interval '1 hour' WHERE token_hash = :'hash';
COMMIT;
UPDATE varel_session.sessions SET user_id = 7 WHERE token_hash = :'hash';
SELECT now() - updated_at < interval '1 minute' AS refreshed FROM varel_session.sessions WHERE token_hash = :'hash';

-- The API's own writes keep the same rule: a key write refreshes it, a touch does not.
UPDATE varel_session.sessions SET updated_at = updated_at - interval '1 hour' WHERE token_hash = :'hash';
SELECT varel_session.session_touch(:'token') IS NOT NULL AS touched;
SELECT now() - updated_at >= interval '1 hour' AS still_old FROM varel_session.sessions WHERE token_hash = :'hash';
SELECT varel_session.session_set(:'token', 'k', 'v') AS set;
SELECT now() - updated_at < interval '1 minute' AS refreshed FROM varel_session.sessions WHERE token_hash = :'hash';

SELECT varel_session.session_destroy(:'token');
