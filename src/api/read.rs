//! Reading sessions: what an app does on every request.

use super::session_write::SessionWrite;
use super::{required_arg, token_arg};
use crate::fcall::{self, sql_function};
use crate::jsonb;
use crate::row::{self, Col, Row};
use crate::snapshot;
use crate::storage::{Decision, Table};
use crate::token::TokenHash;
use pgrx::pg_sys::{self, Datum, FunctionCallInfo};

sql_function!(
    /// `session_get(id text) RETURNS SETOF varel_session.session_row`: the live session or no
    /// row. Writes nothing.
    varel_session_get,
    pg_finfo_varel_session_get,
    |fcinfo| {
        let Some(hash) = token_arg(fcinfo, 0) else {
            return fcall::return_rows(fcinfo, None);
        };
        let table = Table::open_for_read();
        let slot = table.slot();
        let found = table
            .fetch(&hash, snapshot::read_snapshot(), &slot)
            .then(|| slot.row())
            .filter(|session| session.is_live(row::now()));
        return_session(fcinfo, found.as_ref())
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
        let table = Table::open_for_read();
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
            return fcall::return_rows(fcinfo, None);
        };
        let now = row::now();
        // The common case reads with the statement's snapshot and writes nothing.
        let table = Table::open_for_read();
        let slot = table.slot();
        if !table.fetch(&hash, snapshot::read_snapshot(), &slot) {
            return fcall::return_rows(fcinfo, None);
        }
        let found = slot.row();
        if !found.is_live(now) {
            return fcall::return_rows(fcinfo, None);
        }
        if row::refresh_due(&found, now).is_none() || snapshot::writes_forbidden() {
            return return_session(fcinfo, Some(&found));
        }
        slide(fcinfo, &hash, now)
    }
);

/// The write half of `session_load`: re-reads the row with a fresh snapshot and slides the
/// deadline if it is still due. Of a burst of loads, the first writes; the others find the
/// slid deadline (or wait for the first and then find it) and keep the row.
unsafe fn slide(fcinfo: FunctionCallInfo, hash: &TokenHash, now: i64) -> Datum {
    let written = SessionWrite::begin(c"session_load", hash).update(|current| {
        if !current.is_live(now) {
            return Decision::NoSession;
        }
        match row::refresh_due(current, now) {
            None => Decision::Keep,
            Some(deadline) => {
                let mut slid = *current;
                slid.set_int8(Col::ExpiresAt, Some(deadline));
                Decision::Write(slid)
            }
        }
    });
    unsafe { return_session(fcinfo, written.as_ref().map(|w| &w.row)) }
}

/// Returns a `varel_session.session_row`:
/// `(data, user_id, created_at, updated_at, expires_at, absolute_expires_at)`.
unsafe fn return_session(fcinfo: FunctionCallInfo, session: Option<&Row>) -> Datum {
    let Some(session) = session else {
        return unsafe { fcall::return_rows(fcinfo, None) };
    };
    const OUT: [Col; 6] = [
        Col::Data,
        Col::UserId,
        Col::CreatedAt,
        Col::UpdatedAt,
        Col::ExpiresAt,
        Col::AbsoluteExpiresAt,
    ];
    let mut values = [Datum::from(0usize); OUT.len()];
    let mut nulls = [true; OUT.len()];
    for (i, col) in OUT.iter().enumerate() {
        if let Some(value) = session.get(*col) {
            values[i] = value;
            nulls[i] = false;
        }
    }
    // Large data is stored out of line; fetch it now so the result does not hold a pointer
    // into the TOAST table.
    // SAFETY: a jsonb datum from the row.
    unsafe {
        let data = values[0].cast_mut_ptr::<pg_sys::varlena>();
        if pgrx::varlena::varatt_is_1b_e(data) {
            values[0] = Datum::from(pg_sys::detoast_external_attr(data));
        }
        fcall::return_rows(fcinfo, Some((&values, &nulls)))
    }
}
