//! Writing sessions: key and patch writes, unsetting, clearing, sliding, changing the lifetime,
//! destroying; and `change_data` and `check_size`, which the atomic operations use too.
//!
//! A write changes the live session it finds and nothing else: it never creates a row, and a
//! session destroyed, revoked or expired before the write commits stays gone (`storage`).

use super::arguments::required;
use super::create::positive;
use super::session_write::SessionWrite;
use crate::auth_context;
use crate::deadlines;
use crate::errors;
use crate::events::{self, Event};
use crate::fmgr::{sql_function, Call};
use crate::gucs;
use crate::jsonb::{self, Document};
use crate::row::Col;
use crate::storage::Decision;
use pgrx::pg_sys::Datum;
use std::ffi::CStr;

sql_function!(
    /// `session_set(id text, key text, value text) RETURNS boolean`: sets one key to a JSON
    /// string.
    varel_session_set_key,
    pg_finfo_varel_session_set_key,
    |call| {
        let key = required(call.bytes(1), "key");
        let value = required(call.bytes(2), "value");
        check_size(key.len() + value.len());
        write_data(call, c"session_set", |data| jsonb::with_string(data, key, value))
    }
);

sql_function!(
    /// `session_set(id text, patch jsonb) RETURNS boolean`: a top-level merge patch.
    varel_session_set_patch,
    pg_finfo_varel_session_set_patch,
    |call| {
        let patch = required(call.jsonb(1), "patch");
        if !patch.is_object() {
            errors::invalid_argument("patch must be a JSON object");
        }
        check_size(patch.size());
        write_data(call, c"session_set", |data| jsonb::merge_patch(data, patch))
    }
);

sql_function!(
    /// `session_unset(id text, key text) RETURNS boolean`: removes one key.
    varel_session_unset,
    pg_finfo_varel_session_unset,
    |call| {
        let key = required(call.bytes(1), "key");
        write_data(call, c"session_unset", |data| jsonb::without(data, key))
    }
);

sql_function!(
    /// `session_clear(id text) RETURNS boolean`: empties the data.
    varel_session_clear,
    pg_finfo_varel_session_clear,
    |call| {
        write_data(call, c"session_clear", |_| jsonb::empty_object())
    }
);

sql_function!(
    /// `session_touch(id text) RETURNS timestamptz`: slides the idle deadline now, without
    /// `session_load`'s throttle; returns the new deadline.
    varel_session_touch,
    pg_finfo_varel_session_touch,
    |call| {
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        let now = deadlines::now();
        let written = SessionWrite::begin(c"session_touch", &hash).update(|current| {
            if !current.is_live(now) {
                return Decision::NoSession;
            }
            let max_age = current.max_age().unwrap();
            let absolute = current.absolute_expires_at();
            let deadline = auth_context::idle_deadline(current, max_age, now, absolute);
            if deadline == current.expires_at() {
                return Decision::Keep;
            }
            let mut slid = *current;
            slid.set_int8(Col::ExpiresAt, Some(deadline));
            slid.set_int8(Col::LastSeenAt, Some(now));
            Decision::Write(slid)
        });
        match written {
            Some(w) => Datum::from(w.row().expires_at()),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `session_set_max_age(id text, max_age interval) RETURNS timestamptz`: a new idle
    /// lifetime for the live session ("remember me", Django's `set_expiry`), and its idle
    /// deadline slid to now() + max_age, never past the absolute deadline.
    varel_session_set_max_age,
    pg_finfo_varel_session_set_max_age,
    |call| {
        let now = deadlines::now();
        let max_age = positive(required(call.interval(1), "max_age"), now);
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        let written = SessionWrite::begin(c"session_set_max_age", &hash).update(|current| {
            if !current.is_live(now) {
                return Decision::NoSession;
            }
            let mut next = *current;
            next.set_max_age(max_age);
            // Never past what the session's assurance level allows (aal_timeouts).
            let absolute = current.absolute_expires_at();
            let deadline = auth_context::idle_deadline(current, max_age, now, absolute);
            next.set_int8(Col::ExpiresAt, Some(deadline));
            next.set_int8(Col::LastSeenAt, Some(now));
            Decision::Write(next)
        });
        match written {
            Some(w) => Datum::from(w.row().expires_at()),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `session_destroy(id text) RETURNS boolean`: deletes the live session.
    varel_session_destroy,
    pg_finfo_varel_session_destroy,
    |call| {
        let Some(hash) = call.token(0) else {
            return Datum::from(false);
        };
        let now = deadlines::now();
        let write = SessionWrite::begin(c"session_destroy", &hash);
        // The row as last seen by the delete (the newest version, after a concurrent update).
        let ended = std::cell::Cell::new(None);
        let deleted = write.delete(|row| {
            ended.set(Some((row.int8(Col::Handle), row.int8(Col::UserId))));
            row.is_live(now)
        });
        if let (true, Some((handle, user_id))) = (deleted, ended.get()) {
            events::emit(Event::Destroyed, handle, user_id, None);
        }
        Datum::from(deleted)
    }
);

/// Rejects a key, value or patch that alone exceeds `varel_session.max_data_bytes`, before
/// the session is read.
pub(super) fn check_size(bytes: usize) {
    let limit = gucs::MAX_DATA_BYTES.get();
    if bytes > limit as usize {
        errors::data_too_large(bytes, limit);
    }
}

/// What a change does to the live session's data, and what it reports.
pub(super) enum DataChange<T> {
    /// Leave the data as it is (writes nothing).
    Keep(T),
    /// Replace it with this (a write, unless it is byte for byte the same): a document of the
    /// call's, never one borrowed from the row.
    Replace(Document<'static>, T),
}

/// Applies `change` to the data of the live session named by argument 0, in one row update
/// that also sets `updated_at` and `last_seen_at` when the data changes; `change` may run more
/// than once (again on the newest version after a concurrent update), and its last result is
/// returned. `None` when there is no live session. Checks the size limit on the new data.
pub(super) fn change_data<T>(
    call: &Call,
    function: &CStr,
    mut change: impl FnMut(Document<'_>) -> DataChange<T>,
) -> Option<T> {
    let hash = call.token(0)?;
    let now = deadlines::now();
    let limit = gucs::MAX_DATA_BYTES.get();
    let mut result = None;
    let mut write = SessionWrite::begin(function, &hash).opening(call.bytes(0));
    let written = write.update(|current| {
        if !current.is_live(now) {
            return Decision::NoSession;
        }
        // Never NULL in a live session (is_live), and only objects are ever written (sealed
        // data is opened before this sees it).
        let old = current.data().unwrap();
        let new = match change(old) {
            DataChange::Keep(out) => {
                result = Some(out);
                return Decision::Keep;
            }
            DataChange::Replace(new, out) => {
                result = Some(out);
                new
            }
        };
        if old.same_bytes(new) {
            return Decision::Keep;
        }
        if new.size() > limit as usize {
            errors::data_too_large(new.size(), limit);
        }
        let mut next = *current;
        next.set_data(new);
        next.set_int8(Col::UpdatedAt, Some(now));
        next.set_int8(Col::LastSeenAt, Some(now));
        Decision::Write(next)
    });
    written.and(result)
}

/// Replaces the live session's data with `change(data)`; returns whether there was a live
/// session. Unchanged data writes nothing.
fn write_data(
    call: &Call,
    function: &CStr,
    change: impl Fn(Document<'_>) -> Document<'static>,
) -> Datum {
    let written = change_data(call, function, |data| DataChange::Replace(change(data), ()));
    Datum::from(written.is_some())
}
