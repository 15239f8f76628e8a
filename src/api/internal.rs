//! Helpers for the SQL-language functions (`sql/users.sql`): they need the same token hashing
//! and the same per-user lock as the Rust functions, and must not reimplement either.

use super::token_arg;
use crate::errors;
use crate::events::{self, Event};
use crate::fcall::{self, sql_function};
use crate::row;
use crate::snapshot;
use crate::storage::{self, Access, Table};
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
    /// `varel_session.lock_user(user_id bigint) RETURNS void`: the per-user lock, taken before
    /// a revoke; under REPEATABLE READ or SERIALIZABLE also the check that the transaction's
    /// snapshot sees every live session of the user (40001 otherwise), so that a revoke ends
    /// every session committed before it at every isolation level.
    varel_session_lock_user,
    pg_finfo_varel_session_lock_user,
    |fcinfo| {
        if let Some(user_id) = fcall::arg(fcinfo, 0) {
            let user_id = user_id.value() as i64;
            users::lock_user(user_id);
            if storage::uses_transaction_snapshot() {
                let table = Table::open(Access::Read);
                let snapshot = snapshot::read_snapshot();
                users::require_complete_view(&table, user_id, snapshot, row::now());
            }
        }
        fcall::return_null(fcinfo)
    }
);

sql_function!(
    /// `varel_session.notify_event(event text, handle bigint, user_id bigint, count bigint)
    /// RETURNS void`: the session event the SQL-language functions announce (revocations, a
    /// finished cleanup), sent the same way as the C functions' own (`events`).
    varel_session_notify_event,
    pg_finfo_varel_session_notify_event,
    |fcinfo| {
        let name = fcall::arg(fcinfo, 0).map(|d| String::from_utf8_lossy(fcall::varlena_bytes(d)));
        let Some(event) = name.as_deref().and_then(Event::from_name) else {
            errors::invalid_argument("event must be the name of a session event");
        };
        let handle = fcall::arg(fcinfo, 1).map(|d| d.value() as i64);
        let user_id = fcall::arg(fcinfo, 2).map(|d| d.value() as i64);
        let count = fcall::arg(fcinfo, 3).map(|d| d.value() as i64);
        events::emit(event, handle, user_id, count);
        fcall::return_null(fcinfo)
    }
);
