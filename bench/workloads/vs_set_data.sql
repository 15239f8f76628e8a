-- Saving the whole session (what Django does), replacing its data.
\set i random({lo}, {hi})
\set v random(1, 1000000000)
SELECT varel_session.session_set_data('{prefix}' || :i,
    ('{"csrf": "q8Zb1t0PdkY3vWnHs2xLmA", "theme": "' || :v::text || '"}')::jsonb);
