//! Every statement the client sends, in one place, with its parameter types (needed when
//! statements are not prepared, see [`crate::PostgresStore::without_prepared_statements`]).

use tokio_postgres::types::Type;

/// A statement and the types of its parameters.
pub struct Sql {
    pub text: &'static str,
    pub types: &'static [Type],
}

pub const LOAD: Sql = Sql {
    // now() is the transaction's time, which session_load also used: a deadline equal to
    // now() + max_age means this load slid it (see postgres::slid_just_now).
    text: "SELECT data, user_id, created_at, updated_at, expires_at, now(), \
           authenticated_at, aal, amr FROM varel_session.session_load($1)",
    types: &[Type::TEXT],
};
pub const NEW: Sql = Sql {
    text: "SELECT varel_session.session_new(max_age => $1 * interval '1 second', \
           user_id => $2, data => $3, ip => $4, user_agent => $5)",
    types: &[
        Type::FLOAT8,
        Type::INT8,
        Type::JSONB,
        Type::INET,
        Type::TEXT,
    ],
};
pub const SET: Sql = Sql {
    text: "SELECT varel_session.session_set($1, $2::jsonb)",
    types: &[Type::TEXT, Type::JSONB],
};
pub const CLEAR: Sql = one_token("SELECT varel_session.session_clear($1)");
pub const TOUCH: Sql = one_token("SELECT varel_session.session_touch($1)");
pub const DESTROY: Sql = one_token("SELECT varel_session.session_destroy($1)");
pub const REGENERATE: Sql = one_token("SELECT varel_session.session_regenerate($1)");
pub const CLEAR_USER: Sql = one_token("SELECT varel_session.session_clear_user($1)");
pub const HANDLE: Sql = one_token("SELECT varel_session.session_handle($1)");
pub const CSRF_TOKEN: Sql = one_token("SELECT varel_session.session_csrf_token($1)");
pub const CSRF_VERIFY: Sql = Sql {
    text: "SELECT varel_session.session_csrf_verify($1, $2)",
    types: &[Type::TEXT, Type::TEXT],
};
pub const SET_IDP: Sql = Sql {
    text: "SELECT varel_session.session_set_idp($1, $2, $3, $4)",
    types: &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
};
pub const REVOKE_IDP: Sql = Sql {
    text: "SELECT varel_session.session_revoke_idp($1, $2, $3)",
    types: &[Type::TEXT, Type::TEXT, Type::TEXT],
};
pub const SET_USER: Sql = Sql {
    // A NULL max_age keeps the session's lifetime; a number of seconds is "remember me".
    text: "SELECT varel_session.session_set_user($1, $2, $3 * interval '1 second', \
           aal => $4, amr => $5)",
    types: &[
        Type::TEXT,
        Type::INT8,
        Type::FLOAT8,
        Type::INT2,
        Type::TEXT_ARRAY,
    ],
};
/// A new session logged in at once, in one round trip: the token `session_new` gives never
/// leaves the server (the log-in rotates it), and the log-in records its context.
pub const NEW_LOGGED_IN: Sql = Sql {
    text: "SELECT varel_session.session_set_user(\
           varel_session.session_new(max_age => $1 * interval '1 second', data => $2, \
           ip => $3, user_agent => $4), $5, aal => $6, amr => $7)",
    types: &[
        Type::FLOAT8,
        Type::JSONB,
        Type::INET,
        Type::TEXT,
        Type::INT8,
        Type::INT2,
        Type::TEXT_ARRAY,
    ],
};
pub const REAUTHENTICATE: Sql = Sql {
    text: "SELECT varel_session.session_reauthenticate($1, $2, $3)",
    types: &[Type::TEXT, Type::INT2, Type::TEXT_ARRAY],
};
pub const AUTH_RECENT: Sql = Sql {
    text: "SELECT varel_session.session_auth_recent($1, $2 * interval '1 second', $3)",
    types: &[Type::TEXT, Type::FLOAT8, Type::INT2],
};
pub const CLEANUP: Sql = Sql {
    text: "SELECT varel_session.session_cleanup()",
    types: &[],
};
pub const USER_SESSIONS: Sql = Sql {
    text:
        "SELECT handle, created_at, updated_at, expires_at, absolute_expires_at, ip, user_agent, \
           last_seen_at FROM varel_session.session_user_sessions($1)",
    types: &[Type::INT8],
};
pub const INCR: Sql = Sql {
    text: "SELECT varel_session.session_incr($1, $2, $3)",
    types: &[Type::TEXT, Type::TEXT, Type::INT8],
};
pub const TAKE: Sql = Sql {
    text: "SELECT varel_session.session_take($1, $2)",
    types: &[Type::TEXT, Type::TEXT],
};
pub const PUSH: Sql = Sql {
    text: "SELECT varel_session.session_push($1, $2, $3, $4)",
    types: &[Type::TEXT, Type::TEXT, Type::JSONB, Type::INT4],
};
pub const REVOKE: Sql = Sql {
    text: "SELECT varel_session.session_revoke($1, $2)",
    types: &[Type::INT8, Type::TEXT],
};
pub const USER_REVOKE: Sql = Sql {
    text: "SELECT varel_session.session_user_revoke($1, $2)",
    types: &[Type::INT8, Type::TEXT],
};

const fn one_token(text: &'static str) -> Sql {
    Sql {
        text,
        types: &[Type::TEXT],
    }
}
