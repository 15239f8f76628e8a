//! Rotating tokens: regenerate, log in, re-authenticate, log out. Each gives the same session a new token in the
//! same row update that makes the old one stop working, so of several concurrent rotations of
//! one token exactly one succeeds: the others follow the update, find a different token on the
//! newest version, and report "no session".

use super::arguments::required;
use super::create::positive;
use super::identity::{assign_token, fresh_identity_for};
use super::session_write::SessionWrite;
use crate::auth_context;
use crate::deadlines;
use crate::errors;
use crate::events::{self, Event};
use crate::fmgr::{sql_function, Call};
use crate::routing;
use crate::row::{Col, Row};
use crate::storage::Decision;
use crate::token::TokenHash;
use crate::users;
use pgrx::pg_sys::Datum;
use pgrx::PgSqlErrorCode;
use std::ffi::CStr;

sql_function!(
    /// `session_regenerate(id text) RETURNS text`: same session, new token.
    varel_session_regenerate,
    pg_finfo_varel_session_regenerate,
    |call| {
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        rotate(call, c"session_regenerate", &hash, None, Event::Rotated, |_, _| {})
    }
);

sql_function!(
    /// `session_set_user(id text, user_id bigint, max_age interval, ip inet, user_agent text,
    /// aal smallint, amr text[]) RETURNS text`: log in. Sets the user, rotates the token
    /// (against session fixation), records the log-in's time, assurance level (1 when not
    /// stated) and methods, and restarts the absolute deadline; with `max_age` also gives the
    /// session a new idle lifetime ("remember me"), with `ip` and `user_agent` records the
    /// client of this log-in.
    varel_session_set_user,
    pg_finfo_varel_session_set_user,
    |call| {
        let user_id = required(call.int8(1), "user_id");
        let new_max_age = call.interval(2).map(|max_age| positive(max_age, deadlines::now()));
        let ip = call.stored_as(3, Col::Ip);
        let user_agent = call.stored_as(4, Col::UserAgent);
        let aal = auth_context::aal_argument(call, 5);
        let amr = auth_context::amr_argument(call, 6);
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        rotate(call, c"session_set_user", &hash, Some(user_id), Event::LoggedIn, |next, now| {
            if next.int8(Col::UserId) != Some(user_id) {
                next.set_int8(Col::UserId, Some(user_id));
                next.set_int8(Col::UpdatedAt, Some(now));
            }
            if let Some(max_age) = new_max_age {
                next.set_max_age(max_age);
            }
            if ip.is_some() || user_agent.is_some() {
                next.store(Col::Ip, ip);
                next.store(Col::UserAgent, user_agent);
            }
            auth_context::record_log_in(next, now, aal, amr);
            auth_context::restart_deadlines(next, now);
        })
    }
);

sql_function!(
    /// `session_reauthenticate(id text, aal smallint, amr text[]) RETURNS text`: the user
    /// proved who they are again (step-up, or before a sensitive operation). Rotates the token,
    /// records the time, and the level and methods when given (the session's own otherwise),
    /// and restarts both deadlines. ERROR 55000 for a session without a user.
    varel_session_reauthenticate,
    pg_finfo_varel_session_reauthenticate,
    |call| {
        let aal = auth_context::aal_argument(call, 1);
        let amr = auth_context::amr_argument(call, 2);
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        rotate(call, c"session_reauthenticate", &hash, None, Event::Rotated, |next, now| {
            if next.int8(Col::UserId).is_none() {
                errors::raise_with_hint(
                    PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "session_reauthenticate needs a session with a user",
                    "log the session in with session_set_user",
                );
            }
            auth_context::record_reauthentication(next, now, aal, amr);
            auth_context::restart_deadlines(next, now);
        })
    }
);

sql_function!(
    /// `session_clear_user(id text) RETURNS text`: log out but keep the session's data.
    varel_session_clear_user,
    pg_finfo_varel_session_clear_user,
    |call| {
        let Some(hash) = call.token(0) else {
            return call.null();
        };
        rotate(call, c"session_clear_user", &hash, None, Event::LoggedOut, |next, now| {
            if next.int8(Col::UserId).is_some() {
                next.set_int8(Col::UserId, None);
                next.set_int8(Col::UpdatedAt, Some(now));
            }
            auth_context::forget(next);
        })
    }
);

/// Gives the live session named by `hash` a new token, applying `also` to the new row, and
/// returns the token. With `joining_user` (a log-in), takes that user's lock first and, once
/// the session is the user's, makes room under the sessions-per-user cap: only after the
/// rotation succeeded, so a log-in that returns NULL has ended no other session.
fn rotate(
    call: &Call,
    function: &CStr,
    hash: &TokenHash,
    joining_user: Option<i64>,
    event: Event,
    also: impl for<'r> Fn(&mut Row<'r>, i64),
) -> Datum {
    let now = deadlines::now();
    let write = match joining_user {
        Some(user_id) => SessionWrite::begin_user_lock_first(function, hash, user_id),
        None => SessionWrite::begin(function, hash),
    };
    // On a shard node the new token routes where the old one did (see `routing`).
    let (raw, _) = fresh_identity_for(routing::keeping(hash));
    // Sealed data is sealed again under the new token.
    let mut write = write.opening(call.bytes(0)).rekeyed(raw);
    let mut token = None;
    let written = write.update(|current| {
        if !current.is_live(now) {
            return Decision::NoSession;
        }
        let mut next = *current;
        token = Some(assign_token(&mut next, &raw));
        next.set_int8(Col::LastSeenAt, Some(now));
        also(&mut next, now);
        Decision::Write(next)
    });
    let (Some(written), Some(token)) = (written, token) else {
        return call.null();
    };
    let handle = written.row().int8(Col::Handle);
    if let Some(user_id) = joining_user {
        users::make_room(write.table(), user_id, handle, write.snapshot(), now);
    }
    events::emit(event, handle, written.row().int8(Col::UserId), None);
    token
}
