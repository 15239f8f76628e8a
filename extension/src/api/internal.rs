//! Helpers for the SQL-language functions (`sql/users.sql`, `sql/cleanup.sql`): they need the
//! same token hashing, the same per-user lock and the same session events as the Rust
//! functions, and must not reimplement any of them.

use crate::deadlines;
use crate::errors;
use crate::events::{self, Event};
use crate::fmgr::{self, sql_function};
use crate::snapshot;
use crate::storage::{self, Access, Table};
use crate::users;

sql_function!(
    /// `varel_session_internal.token_hash(id text) RETURNS bytea`: the stored form of a token, or NULL
    /// when `id` is not a well-formed token.
    varel_session_token_hash,
    pg_finfo_varel_session_token_hash,
    |call| {
        match call.token(0) {
            Some(hash) => fmgr::new_varlena(&hash),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `varel_session_internal.lock_user(user_id bigint) RETURNS void`: the per-user lock, taken before
    /// a revoke; under REPEATABLE READ or SERIALIZABLE also the check that the transaction's
    /// snapshot sees every live session of the user (40001 otherwise), so that a revoke ends
    /// every session committed before it at every isolation level.
    varel_session_lock_user,
    pg_finfo_varel_session_lock_user,
    |call| {
        if let Some(user_id) = call.int8(0) {
            users::lock_user(user_id);
            if storage::uses_transaction_snapshot() {
                let table = Table::open(Access::Read);
                let snapshot = snapshot::read_snapshot();
                users::require_complete_view(&table, user_id, snapshot, deadlines::now());
            }
        }
        call.null()
    }
);

sql_function!(
    /// `varel_session_internal.notify_event(event text, handle bigint, user_id bigint, count bigint)
    /// RETURNS void`: the session event the SQL-language functions announce (revocations, a
    /// finished cleanup), sent the same way as the C functions' own (`events`).
    varel_session_notify_event,
    pg_finfo_varel_session_notify_event,
    |call| {
        let name = call.bytes(0).map(String::from_utf8_lossy);
        let Some(event) = name.as_deref().and_then(Event::from_name) else {
            errors::invalid_argument("event must be the name of a session event");
        };
        events::emit(event, call.int8(1), call.int8(2), call.int8(3));
        call.null()
    }
);
