SELECT varel_session.session_new();
