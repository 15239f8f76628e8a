//! Reading sessions: what an app does on every request.

use super::session_write::SessionWrite;
use super::{required_arg, token_arg};
use crate::fcall::{self, sql_function};
use crate::jsonb;
use crate::row::{self, Col, Row};
use crate::snapshot;
use crate::storage::{Access, Decision, Table, Written};
use crate::token::TokenHash;
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};
use std::ffi::CStr;

sql_function!(
    /// `session_get(id text) RETURNS SETOF varel_session.session_row`: the live session or no
    /// row. Writes nothing.
    varel_session_get,
    pg_finfo_varel_session_get,
    |fcinfo| {
        let Some(hash) = token_arg(fcinfo, 0) else {
            return return_session(fcinfo, None);
        };
        let table = Table::open(Access::Read);
        let slot = table.slot();
        let found = live_session(&table, &hash, &slot);
        return_session(fcinfo, found.as_ref())
    }
);

/// The live session `hash` names, as the statement's snapshot sees it, read into `slot`.
fn live_session(table: &Table, hash: &TokenHash, slot: &crate::storage::Slot) -> Option<Row> {
    table
        .fetch(hash, snapshot::read_snapshot(), slot)
        .then(|| slot.row())
        .filter(|session| session.is_live(row::now()))
}

#[cfg(feature = "bench_unchecked")]
sql_function!(
    /// `session_get` without the per-call checks of the table and the row type, to price them
    /// in the benchmark (bench/design_alternatives.sql). Not part of the extension.
    varel_session_get_unchecked,
    pg_finfo_varel_session_get_unchecked,
    |fcinfo| {
        let Some(hash) = token_arg(fcinfo, 0) else {
            return fcall::return_rows_unchecked(fcinfo, None);
        };
        let table = Table::open_unchecked();
        let slot = table.slot();
        let Some(session) = live_session(&table, &hash, &slot) else {
            return fcall::return_rows_unchecked(fcinfo, None);
        };
        let (values, nulls) = session_row_values(&session);
        fcall::return_rows_unchecked(fcinfo, Some((&values, &nulls)))
    }
);

sql_function!(
    /// `session_get(id text, key text) RETURNS text`: `data ->> key` of the live session.
    varel_session_get_key,
    pg_finfo_varel_session_get_key,
    |fcinfo| {
        let key = required_arg(fcinfo, 1, "key");
        let Some(hash) = token_arg(fcinfo, 0) else {
            return fcall::return_null(fcinfo);
        };
        let table = Table::open(Access::Read);
        let slot = table.slot();
        if !table.fetch(&hash, snapshot::read_snapshot(), &slot) {
            return fcall::return_null(fcinfo);
        }
        let found = slot.row();
        let value = found
            .is_live(row::now())
            .then(|| jsonb::get_text(found.get(Col::Data).unwrap(), key))
            .flatten();
        value.unwrap_or_else(|| fcall::return_null(fcinfo))
    }
);

sql_function!(
    /// `session_load(id text)`: `session_get`, plus sliding the idle deadline when at least a
    /// fifth of `max_age` has passed since it was last slid (see `row::refresh_due`).
    varel_session_load,
    pg_finfo_varel_session_load,
    |fcinfo| {
        let Some(hash) = token_arg(fcinfo, 0) else {
            return return_session(fcinfo, None);
        };
        let now = row::now();
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
            return return_session(fcinfo, None);
        }
        let found = slot.row();
        if !found.is_live(now) {
            return return_session(fcinfo, None);
        }
        if row::refresh_due(&found, now).is_none() || !may_write {
            return return_session(fcinfo, Some(&found));
        }
        let slid = slide(&hash, now);
        return_session(fcinfo, Some(slid.as_ref().map_or(&found, |w| &w.row)))
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
        match row::refresh_due(current, now) {
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

/// The attributes of `varel_session.session_row`, and the columns they come from.
const SESSION_ROW: [(&CStr, pg_sys::Oid, Col); 6] = [
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
];

/// Returns a `varel_session.session_row`, or no row when `session` is `None`.
unsafe fn return_session(fcinfo: FunctionCallInfo, session: Option<&Row>) -> Datum {
    const COLUMNS: [(&CStr, pg_sys::Oid); 6] = {
        let mut columns = [(c"", pg_sys::InvalidOid); 6];
        let mut i = 0;
        while i < 6 {
            columns[i] = (SESSION_ROW[i].0, SESSION_ROW[i].1);
            i += 1;
        }
        columns
    };
    let Some(session) = session else {
        // SAFETY: the caller's live fcinfo of a function returning SETOF session_row.
        return unsafe { fcall::return_rows(fcinfo, ROW_TYPE, &COLUMNS, None) };
    };
    let (values, nulls) = session_row_values(session);
    // SAFETY: as above; the values come from a row whose slot the caller still holds.
    unsafe { fcall::return_rows(fcinfo, ROW_TYPE, &COLUMNS, Some((&values, &nulls))) }
}

/// The values of a `session_row` from a sessions row.
fn session_row_values(session: &Row) -> ([Datum; 6], [bool; 6]) {
    let mut values = [Datum::from(0usize); 6];
    let mut nulls = [true; 6];
    for (i, (.., col)) in SESSION_ROW.iter().enumerate() {
        if let Some(value) = session.get(*col) {
            values[i] = value;
            nulls[i] = false;
        }
    }
    // Large data is stored out of line; fetch it now so the result does not hold a pointer
    // into the TOAST table.
    if !nulls[0] {
        // SAFETY: a non-NULL jsonb datum from the row.
        unsafe {
            let data = values[0].cast_mut_ptr::<pg_sys::varlena>();
            if pgrx::varlena::varatt_is_1b_e(data) {
                values[0] = Datum::from(pg_sys::detoast_external_attr(data));
            }
        }
    }
    (values, nulls)
}

const ROW_TYPE: &str = "varel_session.session_row";
