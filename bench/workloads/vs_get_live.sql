-- session_get of the live half of the cleanup table (odd tokens; the even ones are expired).
\set i {lo} + 2 * random(0, ({hi} - {lo}) / 2) + 1
SELECT * FROM varel_session.session_get('{prefix}' || :i);
