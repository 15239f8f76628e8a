//! Helpers for the SQL-language functions (`sql/users.sql`): they need the same token hashing
//! and the same per-user lock as the Rust functions, and must not reimplement either.

use super::token_arg;
use crate::fcall::{self, sql_function};
use crate::users;
use pgrx::pg_sys::Datum;

sql_function!(
    /// `varel_session.token_hash(id text) RETURNS bytea`: the stored form of a token, or NULL
    /// when `id` is not a well-formed token.
    varel_session_token_hash,
    pg_finfo_varel_session_token_hash,
    |fcinfo| {
        match token_arg(fcinfo, 0) {
            Some(hash) => Datum::from(fcall::new_varlena(&hash)),
            None => fcall::return_null(fcinfo),
        }
    }
);

sql_function!(
    /// `varel_session.lock_user(user_id bigint) RETURNS void`: the per-user lock.
    varel_session_lock_user,
    pg_finfo_varel_session_lock_user,
    |fcinfo| {
        if let Some(user_id) = fcall::arg(fcinfo, 0) {
            users::lock_user(user_id.value() as i64);
        }
        fcall::return_null(fcinfo)
    }
);
