//! Reading sessions: what an app does on every request. `session_get` writes nothing;
//! `session_load` also slides the idle deadline when it is due, an optional write that is
//! skipped rather than waited for. `session_auth_recent` reads the authentication context.

use super::arguments::required;
use super::session_write::SessionWrite;
use crate::auth_context;
use crate::deadlines;
use crate::errors;
use crate::fmgr::{sql_function, Call, ResultColumn};
use crate::jsonb;
use crate::row::{Col, Row};
use crate::seal;
use crate::snapshot;
use crate::storage::{Access, Decision, Slot, Table, Written};
use crate::token::TokenHash;
use pgrx::pg_sys::{self, Datum};

sql_function!(
    /// `session_get(id text) RETURNS SETOF varel_session.session_row`: the live session or no
    /// row. Writes nothing.
    varel_session_get,
    pg_finfo_varel_session_get,
    |call| {
        let Some(hash) = call.token(0) else {
            return return_session(call, None);
        };
        let table = Table::open(Access::Read);
        let slot = table.slot();
        let found = live_session(&table, &hash, &slot);
        return_session(call, found.as_ref())
    }
);

/// The live session `hash` names, as the statement's snapshot sees it, read into `slot`.
fn live_session<'s>(table: &Table, hash: &TokenHash, slot: &'s Slot) -> Option<Row<'s>> {
    table
        .fetch(hash, snapshot::read_snapshot(), slot)
        .then(|| slot.row())
        .filter(|session| session.is_live(deadlines::now()))
}

#[cfg(feature = "bench_unchecked")]
sql_function!(
    /// `session_get` without the per-call checks of the table and the row type, to price them
    /// in the benchmark (bench/design_alternatives.sql). Not part of the extension.
    varel_session_get_unchecked,
    pg_finfo_varel_session_get_unchecked,
    |call| {
        let Some(hash) = call.token(0) else {
            return call.rows_unchecked(&SESSION_ROW, None);
        };
        let table = Table::open_unchecked();
        let slot = table.slot();
        let found = live_session(&table, &hash, &slot);
        call.rows_unchecked(&SESSION_ROW, found.as_ref())
    }
);

sql_function!(
    /// `session_get(id text, key text) RETURNS text`: `data ->> key` of the live session.
    varel_session_get_key,
    pg_finfo_varel_session_get_key,
    |call| {
        let key = required(call.bytes(1), "key");
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        let table = Table::open(Access::Read);
        let slot = table.slot();
        let value = live_session(&table, &hash, &slot)
            .map(|session| seal::opened_with(session, || call.seal_key(0)))
            .and_then(|session| jsonb::get_text(session.data().unwrap(), key));
        value.unwrap_or_else(|| call.null())
    }
);

sql_function!(
    /// `session_load(id text)`: `session_get`, plus sliding the idle deadline when at least a
    /// fifth of `max_age` has passed since it was last slid (see `deadlines::refresh_due`).
    varel_session_load,
    pg_finfo_varel_session_load,
    |call| {
        let Some(hash) = call.token(0) else {
            return return_session(call, None);
        };
        let now = deadlines::now();
        // No slide where it cannot write (read-only, standby), nor under SERIALIZABLE, where
        // even a skipped-when-busy write joins the transaction's read/write dependencies and
        // could make it fail: a load must never fail because of its slide.
        let may_write = !snapshot::writes_forbidden() && !snapshot::serializable();
        // The common case reads with the statement's snapshot and writes nothing.
        let table = Table::open(if may_write {
            Access::ReadThenMaybeWrite
        } else {
            Access::Read
        });
        let slot = table.slot();
        if !table.fetch(&hash, snapshot::read_snapshot(), &slot) {
            return return_session(call, None);
        }
        let found = slot.row();
        if !found.is_live(now) {
            return return_session(call, None);
        }
        let cap = auth_context::idle_cap(&found, now);
        if deadlines::refresh_due(&found, now, cap).is_none() || !may_write {
            return return_session(call, Some(&found));
        }
        let slid = slide(&hash, now);
        let slid_row = slid.as_ref().map(Written::row);
        return_session(call, Some(slid_row.as_ref().unwrap_or(&found)))
    }
);

sql_function!(
    /// `session_auth_recent(id text, within interval, min_aal smallint) RETURNS boolean`: whether
    /// the live session's user authenticated (logged in or re-authenticated) within `within`,
    /// at level `min_aal` or above: "may this request do a sensitive operation". Writes nothing.
    varel_session_auth_recent,
    pg_finfo_varel_session_auth_recent,
    |call| {
        let now = deadlines::now();
        let within = required(call.interval(1), "within");
        if !within.is_positive_at(now) {
            errors::invalid_argument("within must be a positive interval");
        }
        let min_aal = required(auth_context::aal_argument(call, 2), "min_aal");
        let Some(hash) = call.token(0) else {
            return Datum::from(false);
        };
        let table = Table::open(Access::Read);
        let slot = table.slot();
        let recent = live_session(&table, &hash, &slot)
            .is_some_and(|session| auth_context::is_recent(&session, within, now, min_aal));
        Datum::from(recent)
    }
);

/// The write half of `session_load`: re-reads the row with a write snapshot and slides the
/// deadline if it is still due. Optional: when the table or the row is locked, or the row
/// changed since it was read, nothing is written and `None` says "use what you read"; a read
/// never waits for, or fails because of, the slide. Of a burst of loads, the first writes; the
/// others find the slid deadline or the row locked, and keep it as they read it.
fn slide(hash: &TokenHash, now: i64) -> Option<Written> {
    let mut write = SessionWrite::begin_unless_busy(c"session_load", hash)?;
    write.update_unless_busy(|current| {
        if !current.is_live(now) {
            return Decision::NoSession;
        }
        match deadlines::refresh_due(current, now, auth_context::idle_cap(current, now)) {
            None => Decision::Keep,
            Some(deadline) => {
                let mut slid = *current;
                slid.set_int8(Col::ExpiresAt, Some(deadline));
                slid.set_int8(Col::LastSeenAt, Some(now));
                Decision::Write(slid)
            }
        }
    })
}

/// The attributes of `varel_session.session_row`, their types, and the columns they come from.
const SESSION_ROW: [ResultColumn; 9] = [
    (c"data", pg_sys::JSONBOID, Col::Data),
    (c"user_id", pg_sys::INT8OID, Col::UserId),
    (c"created_at", pg_sys::TIMESTAMPTZOID, Col::CreatedAt),
    (c"updated_at", pg_sys::TIMESTAMPTZOID, Col::UpdatedAt),
    (c"expires_at", pg_sys::TIMESTAMPTZOID, Col::ExpiresAt),
    (
        c"absolute_expires_at",
        pg_sys::TIMESTAMPTZOID,
        Col::AbsoluteExpiresAt,
    ),
    // Added in 0.4.0: the authentication context of the last log-in.
    (
        c"authenticated_at",
        pg_sys::TIMESTAMPTZOID,
        Col::AuthenticatedAt,
    ),
    (c"aal", pg_sys::INT2OID, Col::Aal),
    (c"amr", pg_sys::TEXTARRAYOID, Col::Amr),
];

/// The attributes `session_row` had before 0.4.0, which a database still on older SQL has.
const SESSION_ROW_BEFORE_0_4: usize = 6;

/// Returns a `varel_session.session_row`, or no row when `session` is `None`; sealed data
/// opened with the key of the caller's token (argument 0).
fn return_session(call: &Call, session: Option<&Row<'_>>) -> Datum {
    let opened = session.map(|row| seal::opened_with(*row, || call.seal_key(0)));
    call.rows(
        "varel_session.session_row",
        &SESSION_ROW,
        SESSION_ROW_BEFORE_0_4,
        opened.as_ref(),
    )
}
