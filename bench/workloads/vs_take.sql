-- A flash message: set on one request, read once on the next.
\set i random({lo}, {hi})
SELECT varel_session.session_set('{prefix}' || :i, 'flash', 'saved');
SELECT varel_session.session_take('{prefix}' || :i, 'flash');
