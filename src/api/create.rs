//! Creating sessions.

use super::{assign_token, fresh_identity};
use crate::errors;
use crate::events::{self, Event};
use crate::fcall::{self, sql_function};
use crate::gucs;
use crate::jsonb;
use crate::row::{self, Col, Row};
use crate::snapshot::WriteSnapshot;
use crate::storage::{Access, Table};
use crate::token;
use crate::users;
use pgrx::pg_sys::{self, Datum};
use pgrx::PgSqlErrorCode;

sql_function!(
    /// `session_generate_id() RETURNS text`: 32 bytes from the OS CSPRNG as 64 lowercase hex
    /// characters.
    varel_session_generate_id,
    pg_finfo_varel_session_generate_id,
    |_fcinfo| {
        let raw = token::generate().unwrap_or_else(|_| {
            errors::raise(
                PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                "could not read random bytes from the operating system",
            )
        });
        Datum::from(fcall::new_varlena(token::encode(&raw).as_bytes()))
    }
);

sql_function!(
    /// `session_new(max_age interval, user_id bigint, data jsonb, ip inet, user_agent text)
    /// RETURNS text`: creates a session and returns its token, the only time it is shown.
    varel_session_new,
    pg_finfo_varel_session_new,
    |fcinfo| {
        let now = row::now();
        let max_age = fcall::arg(fcinfo, 0).unwrap_or_else(default_max_age);
        let user_id = fcall::arg(fcinfo, 1).map(|d| d.value() as i64);
        let data = checked_data(fcall::arg(fcinfo, 2));
        let slid = row::add_interval(now, max_age);
        if slid <= now {
            errors::invalid_argument("max_age must be a positive interval");
        }
        let absolute = row::absolute_deadline(now);
        let expires = absolute.map_or(slid, |cap| slid.min(cap));

        // The user's lock before the table's, in the same order as every log-in takes them.
        let mut snapshot = WriteSnapshot::take(c"session_new");
        if let Some(user_id) = user_id {
            users::lock_user(user_id);
            snapshot.refresh();
        }
        let table = Table::open(Access::Write);
        if let Some(user_id) = user_id {
            users::make_room(&table, user_id, None, snapshot.get(), now);
        }

        let (raw, handle) = fresh_identity();
        let mut new = Row::empty();
        let token = assign_token(&mut new, &raw);
        new.set_int8(Col::Handle, Some(handle));
        new.set_int8(Col::UserId, user_id);
        new.set_int8(Col::CreatedAt, Some(now));
        new.set_int8(Col::UpdatedAt, Some(now));
        new.set_int8(Col::ExpiresAt, Some(expires));
        new.set_int8(Col::AbsoluteExpiresAt, absolute);
        new.set(Col::MaxAge, Some(max_age));
        new.set(Col::Data, Some(data));
        new.set(Col::Ip, fcall::arg(fcinfo, 3));
        new.set(Col::UserAgent, fcall::arg(fcinfo, 4));
        new.set_int8(Col::LastSeenAt, Some(now));
        drop(table.insert(&new));
        events::emit(Event::Created, Some(handle), user_id, None);
        token
    }
);

/// `varel_session.max_age` as an interval.
pub(super) fn default_max_age() -> Datum {
    // SAFETY: palloc0 returns a zeroed Interval-sized buffer or raises an ERROR.
    unsafe {
        let interval =
            pg_sys::palloc0(std::mem::size_of::<pg_sys::Interval>()) as *mut pg_sys::Interval;
        (*interval).time = i64::from(gucs::MAX_AGE.get()) * 1_000_000;
        Datum::from(interval)
    }
}

/// The initial data: a JSON object within `varel_session.max_data_bytes`.
fn checked_data(arg: Option<Datum>) -> Datum {
    let datum = arg.unwrap_or_else(|| errors::null_argument("data"));
    // SAFETY: a jsonb argument.
    unsafe {
        let data = jsonb::detoast(datum);
        if !jsonb::is_object(data) {
            errors::invalid_argument("data must be a JSON object");
        }
        let limit = gucs::MAX_DATA_BYTES.get();
        if jsonb::size(data) > limit as usize {
            errors::data_too_large(jsonb::size(data), limit);
        }
        Datum::from(data)
    }
}
