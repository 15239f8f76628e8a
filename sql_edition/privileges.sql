-- The SQL edition's own objects: its policy table and the internal helpers are the owner's
-- alone, like everything else (sql/privileges.sql).
REVOKE ALL ON TABLE varel_session.settings FROM PUBLIC;
REVOKE ALL ON TABLE varel_session_internal.user_logins FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session_internal FROM PUBLIC;
