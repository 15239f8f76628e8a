//! Rotating tokens: regenerate, log in, log out. Each gives the same session a new token in the
//! same row update that makes the old one stop working, so of several concurrent rotations of
//! one token exactly one succeeds: the others follow the update, find a different token on the
//! newest version, and report "no session".

use super::session_write::SessionWrite;
use super::{assign_token, fresh_identity, required_arg, token_arg};
use crate::errors;
use crate::events::{self, Event};
use crate::fcall::{self, sql_function};
use crate::row::{self, Col, Row};
use crate::storage::Decision;
use crate::token::TokenHash;
use crate::users;
use pgrx::pg_sys::{Datum, FunctionCallInfo};
use std::ffi::CStr;

sql_function!(
    /// `session_regenerate(id text) RETURNS text`: same session, new token.
    varel_session_regenerate,
    pg_finfo_varel_session_regenerate,
    |fcinfo| {
        let Some(hash) = token_arg(fcinfo, 0) else {
            return fcall::return_null(fcinfo);
        };
        rotate(fcinfo, c"session_regenerate", &hash, None, Event::Rotated, |_, _| {})
    }
);

sql_function!(
    /// `session_set_user(id text, user_id bigint, max_age interval, ip inet, user_agent text)
    /// RETURNS text`: log in. Sets the user, rotates the token (against session fixation), and
    /// restarts the absolute deadline; with `max_age` also gives the session a new idle
    /// lifetime ("remember me"), with `ip` and `user_agent` records the client of this log-in.
    varel_session_set_user,
    pg_finfo_varel_session_set_user,
    |fcinfo| {
        let user_id = required_arg(fcinfo, 1, "user_id").value() as i64;
        let new_max_age = fcall::arg(fcinfo, 2);
        if let Some(max_age) = new_max_age {
            let now = row::now();
            if row::add_interval(now, max_age) <= now {
                errors::invalid_argument("max_age must be a positive interval");
            }
        }
        let (ip, user_agent) = (fcall::arg(fcinfo, 3), fcall::arg(fcinfo, 4));
        let Some(hash) = token_arg(fcinfo, 0) else {
            return fcall::return_null(fcinfo);
        };
        rotate(fcinfo, c"session_set_user", &hash, Some(user_id), Event::LoggedIn, |next, now| {
            if next.int8(Col::UserId) != Some(user_id) {
                next.set_int8(Col::UserId, Some(user_id));
                next.set_int8(Col::UpdatedAt, Some(now));
            }
            if let Some(max_age) = new_max_age {
                next.set(Col::MaxAge, Some(max_age));
            }
            if ip.is_some() || user_agent.is_some() {
                next.set(Col::Ip, ip);
                next.set(Col::UserAgent, user_agent);
            }
            let absolute = row::absolute_deadline(now);
            let max_age = next.get(Col::MaxAge).unwrap();
            next.set_int8(Col::AbsoluteExpiresAt, absolute);
            next.set_int8(Col::ExpiresAt, Some(row::idle_deadline(now, max_age, absolute)));
        })
    }
);

sql_function!(
    /// `session_clear_user(id text) RETURNS text`: log out but keep the session's data.
    varel_session_clear_user,
    pg_finfo_varel_session_clear_user,
    |fcinfo| {
        let Some(hash) = token_arg(fcinfo, 0) else {
            return fcall::return_null(fcinfo);
        };
        rotate(fcinfo, c"session_clear_user", &hash, None, Event::LoggedOut, |next, now| {
            if next.int8(Col::UserId).is_some() {
                next.set_int8(Col::UserId, None);
                next.set_int8(Col::UpdatedAt, Some(now));
            }
        })
    }
);

/// Gives the live session named by `hash` a new token, applying `also` to the new row, and
/// returns the token. With `joining_user` (a log-in), takes that user's lock first and, once
/// the session is the user's, makes room under the sessions-per-user cap: only after the
/// rotation succeeded, so a log-in that returns NULL has ended no other session.
unsafe fn rotate(
    fcinfo: FunctionCallInfo,
    function: &CStr,
    hash: &TokenHash,
    joining_user: Option<i64>,
    event: Event,
    also: impl Fn(&mut Row, i64),
) -> Datum {
    let now = row::now();
    let mut write = match joining_user {
        Some(user_id) => SessionWrite::begin_user_lock_first(function, hash, user_id),
        None => SessionWrite::begin(function, hash),
    };
    let (raw, _) = fresh_identity();
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
        // SAFETY: the caller's live fcinfo.
        return unsafe { fcall::return_null(fcinfo) };
    };
    let handle = written.row.int8(Col::Handle);
    if let Some(user_id) = joining_user {
        users::make_room(write.table(), user_id, handle, write.snapshot(), now);
    }
    events::emit(event, handle, written.row.int8(Col::UserId), None);
    token
}
