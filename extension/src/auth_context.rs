//! The authentication context of a session: when its user last proved who they are
//! (`authenticated_at`), at what assurance level (`aal`, NIST SP 800-63B-4's AAL1 to AAL3) and
//! by which methods (`amr`, RFC 8176 names such as `pwd`, `otp`, `hwk`). `session_set_user`
//! records it, `session_reauthenticate` renews it, `session_clear_user` forgets it, and
//! `session_auth_recent` asks it whether a sensitive operation may go ahead.
//!
//! With `varel_session.aal_timeouts` on, the level also caps the session's deadlines as
//! 800-63B-4 asks ([`limits`]): the overall limit is written into the absolute deadline when
//! the context is recorded, and the inactivity limit caps every idle deadline computed while
//! the level stands ([`idle_cap`], which the slides call too). The session's own `max_age`
//! stays as it was given, so a log-out, a log-in at a lower level or turning the setting off
//! gives the session its lifetime back.

use crate::deadlines::{self, Interval};
use crate::errors;
use crate::fmgr::{Call, Stored};
use crate::gucs;
use crate::row::{Col, Row};
use pgrx::pg_sys::TimestampTz;

/// The largest `amr` accepted, in bytes of its array form: a handful of short method names
/// take well under a hundred; the cap keeps a caller's mistake out of every row read.
const MAX_AMR_BYTES: usize = 1024;

/// The level a log-in that states none is recorded at: the lowest.
const DEFAULT_AAL: i16 = 1;

/// Argument `n` as an assurance level: NULL, or 1 to 3 (22023 otherwise).
pub fn aal_argument(call: &Call, n: usize) -> Option<i16> {
    let aal = call.int2(n)?;
    if !(1..=3).contains(&aal) {
        errors::invalid_argument("aal must be 1, 2 or 3");
    }
    Some(aal)
}

/// Argument `n` as authentication methods: NULL, or a one-dimensional `text[]` without NULL
/// elements, at most [`MAX_AMR_BYTES`] (22023 otherwise).
pub fn amr_argument(call: &Call, n: usize) -> Option<Stored<'static>> {
    let (amr, shape) = call.stored_array(n, Col::Amr)?;
    if shape.dimensions > 1 || shape.has_nulls {
        errors::invalid_argument("amr must be a one-dimensional array without nulls");
    }
    if shape.bytes > MAX_AMR_BYTES {
        errors::invalid_argument(format!(
            "amr must be at most {MAX_AMR_BYTES} bytes, not {}",
            shape.bytes
        ));
    }
    Some(amr)
}

/// Records a log-in at `now`: its level (the lowest when not stated) and methods.
pub fn record_log_in<'a>(
    row: &mut Row<'a>,
    now: TimestampTz,
    aal: Option<i16>,
    amr: Option<Stored<'a>>,
) {
    row.set_int8(Col::AuthenticatedAt, Some(now));
    row.set_aal(Some(aal.unwrap_or(DEFAULT_AAL)));
    row.store(Col::Amr, amr);
}

/// Records a re-authentication at `now`: a level or methods not stated are the session's own.
pub fn record_reauthentication<'a>(
    row: &mut Row<'a>,
    now: TimestampTz,
    aal: Option<i16>,
    amr: Option<Stored<'a>>,
) {
    row.set_int8(Col::AuthenticatedAt, Some(now));
    row.set_aal(aal.or(row.aal()).or(Some(DEFAULT_AAL)));
    if amr.is_some() {
        row.store(Col::Amr, amr);
    }
}

/// Forgets the context (a log-out).
pub fn forget(row: &mut Row<'_>) {
    row.set_int8(Col::AuthenticatedAt, None);
    row.set_aal(None);
    row.store(Col::Amr, None);
}

/// Restarts both deadlines of a session whose user (re-)authenticated at `now`: the absolute
/// one from `varel_session.absolute_timeout`, and the idle one from the session's `max_age`;
/// with `varel_session.aal_timeouts`, neither longer than the recorded level allows.
pub fn restart_deadlines(row: &mut Row<'_>, now: TimestampTz) {
    let mut absolute = deadlines::absolute_deadline(now);
    if let Some((overall, _)) = limits_in_force(row) {
        let cap = now.saturating_add(overall * 1_000_000);
        absolute = Some(deadlines::cap(cap, absolute));
    }
    row.set_int8(Col::AbsoluteExpiresAt, absolute);
    let deadline = idle_deadline(row, row.max_age().unwrap(), now, absolute);
    row.set_int8(Col::ExpiresAt, Some(deadline));
}

/// The idle deadline of `row` used at `now` with idle lifetime `max_age`: never past
/// `absolute`, nor (with `varel_session.aal_timeouts`) past the level's inactivity limit.
pub fn idle_deadline(
    row: &Row<'_>,
    max_age: Interval<'_>,
    now: TimestampTz,
    absolute: Option<TimestampTz>,
) -> TimestampTz {
    let deadline = deadlines::idle_deadline(now, max_age, absolute);
    idle_cap(row, now).map_or(deadline, |cap| deadline.min(cap))
}

/// With `varel_session.aal_timeouts`, the latest idle deadline the level of `row` allows for a
/// use at `now`; `None` when no level limits it (the setting is off, no level is recorded, or
/// AAL1, which has no inactivity limit). One load of the setting when it is off: the slides
/// of every `session_load` call this.
pub fn idle_cap(row: &Row<'_>, now: TimestampTz) -> Option<TimestampTz> {
    let (_, idle) = limits_in_force(row)?;
    Some(now.saturating_add(i64::from(idle?) * 1_000_000))
}

/// Whether `row` (a live session) was authenticated within `within` of `now`, at level
/// `min_aal` or above.
pub fn is_recent(row: &Row<'_>, within: Interval<'_>, now: TimestampTz, min_aal: i16) -> bool {
    let authenticated = row.int8(Col::UserId).and(row.int8(Col::AuthenticatedAt));
    authenticated.is_some_and(|at| within.after(at) >= now)
        && row.aal().is_some_and(|aal| aal >= min_aal)
}

/// The limits of the session's recorded level when `varel_session.aal_timeouts` is on.
fn limits_in_force(row: &Row<'_>) -> Option<(i64, Option<i32>)> {
    gucs::AAL_TIMEOUTS
        .get()
        .then(|| row.aal())
        .flatten()
        .map(limits)
}

/// NIST SP 800-63B-4's session limits for a level, in seconds: the overall timeout, and the
/// inactivity timeout where there is one. AAL1 has no inactivity limit and an overall one it
/// recommends (SHOULD, 30 days); AAL2 and AAL3 have both (SHALL).
fn limits(aal: i16) -> (i64, Option<i32>) {
    const HOUR: i32 = 60 * 60;
    match aal {
        3 => (12 * i64::from(HOUR), Some(15 * 60)),
        2 => (24 * i64::from(HOUR), Some(HOUR)),
        _ => (30 * 24 * i64::from(HOUR), None),
    }
}
