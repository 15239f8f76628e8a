-- The functions find the table by OID, cached per backend; dropping and re-creating the
-- extension in the same connection gives new OIDs, and the cache must follow.
SELECT varel_session.session_new() AS t \gset
SELECT count(*) AS before FROM varel_session.session_get(:'t');
DROP EXTENSION varel_session;
CREATE EXTENSION varel_session;
SELECT count(*) AS old_session_gone FROM varel_session.session_get(:'t');
SELECT varel_session.session_new(data => '{"again": true}') AS t \gset
SELECT data FROM varel_session.session_get(:'t');
