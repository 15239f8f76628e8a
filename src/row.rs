//! One row of `varel_session.sessions` as PostgreSQL stores it, and the deadline arithmetic
//! done on it.
//!
//! A `Row` holds the library's columns in [`Col`] order, whatever their positions in the table
//! (`catalog::Layout` maps between the two, and `catalog` checks types and NOT NULL).

use crate::gucs;
use pgrx::pg_sys::{self, Datum, Oid, TimestampTz};
use std::ffi::CStr;

/// The sessions table's columns, in physical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Handle,
    UserId,
    CreatedAt,
    UpdatedAt,
    ExpiresAt,
    AbsoluteExpiresAt,
    MaxAge,
    TokenHash,
    Data,
    Ip,
    UserAgent,
    LastSeenAt,
}

pub const NATTS: usize = 12;

/// A column as the library expects it.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub col: Col,
    pub type_oid: Oid,
    pub not_null: bool,
    /// Added after 0.1.0: a database still on older SQL (between installing this library and
    /// `ALTER EXTENSION ... UPDATE`) has no such column, and the library then neither reads
    /// nor writes it.
    pub optional: bool,
}

const fn column(col: Col, type_oid: Oid, not_null: bool) -> Column {
    Column {
        col,
        type_oid,
        not_null,
        optional: false,
    }
}

/// Every column, in the table's order (for a fresh install).
pub const COLUMNS: [Column; NATTS] = [
    column(Col::Handle, pg_sys::INT8OID, true),
    column(Col::UserId, pg_sys::INT8OID, false),
    column(Col::CreatedAt, pg_sys::TIMESTAMPTZOID, true),
    column(Col::UpdatedAt, pg_sys::TIMESTAMPTZOID, true),
    column(Col::ExpiresAt, pg_sys::TIMESTAMPTZOID, true),
    column(Col::AbsoluteExpiresAt, pg_sys::TIMESTAMPTZOID, false),
    column(Col::MaxAge, pg_sys::INTERVALOID, true),
    column(Col::TokenHash, pg_sys::BYTEAOID, true),
    column(Col::Data, pg_sys::JSONBOID, true),
    column(Col::Ip, pg_sys::INETOID, false),
    column(Col::UserAgent, pg_sys::TEXTOID, false),
    Column {
        optional: true,
        ..column(Col::LastSeenAt, pg_sys::TIMESTAMPTZOID, false)
    },
];

impl Col {
    pub fn name(self) -> &'static CStr {
        match self {
            Col::Handle => c"handle",
            Col::UserId => c"user_id",
            Col::CreatedAt => c"created_at",
            Col::UpdatedAt => c"updated_at",
            Col::ExpiresAt => c"expires_at",
            Col::AbsoluteExpiresAt => c"absolute_expires_at",
            Col::MaxAge => c"max_age",
            Col::TokenHash => c"token_hash",
            Col::Data => c"data",
            Col::Ip => c"ip",
            Col::UserAgent => c"user_agent",
            Col::LastSeenAt => c"last_seen_at",
        }
    }

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A row's datums. By-reference datums point into whatever the row was read from (a pinned
/// buffer, or memory the caller allocated), which must outlive the row's use.
#[derive(Clone, Copy)]
pub struct Row {
    pub values: [Datum; NATTS],
    pub nulls: [bool; NATTS],
}

impl Row {
    /// A row with every column NULL.
    pub fn empty() -> Row {
        Row {
            values: [Datum::from(0usize); NATTS],
            nulls: [true; NATTS],
        }
    }

    #[inline]
    pub fn get(&self, col: Col) -> Option<Datum> {
        let i = col.index();
        (!self.nulls[i]).then_some(self.values[i])
    }

    #[inline]
    pub fn set(&mut self, col: Col, value: Option<Datum>) {
        let i = col.index();
        self.nulls[i] = value.is_none();
        self.values[i] = value.unwrap_or(Datum::from(0usize));
    }

    #[inline]
    pub fn int8(&self, col: Col) -> Option<i64> {
        self.get(col).map(|d| d.value() as i64)
    }

    #[inline]
    pub fn set_int8(&mut self, col: Col, value: Option<i64>) {
        self.set(col, value.map(Datum::from));
    }

    pub fn expires_at(&self) -> TimestampTz {
        self.int8(Col::ExpiresAt).unwrap_or(i64::MIN)
    }

    pub fn absolute_expires_at(&self) -> Option<TimestampTz> {
        self.int8(Col::AbsoluteExpiresAt)
    }

    /// Live means both deadlines are still ahead of `now`: an expired session is invisible
    /// whether or not cleanup has removed it yet. A row missing a value the functions need
    /// (possible only if an administrator wrote one around the NOT NULL constraints) is not a
    /// live session either, so no function ever reads a NULL it relies on.
    pub fn is_live(&self, now: TimestampTz) -> bool {
        const REQUIRED: [Col; 4] = [Col::ExpiresAt, Col::MaxAge, Col::TokenHash, Col::Data];
        REQUIRED.iter().all(|c| !self.nulls[c.index()])
            && self.expires_at() > now
            && self.absolute_expires_at().is_none_or(|cap| cap > now)
    }

    /// The stored token hash.
    ///
    /// # Safety
    /// The row's datums must still be valid.
    pub unsafe fn token_hash(&self) -> Option<&[u8]> {
        self.get(Col::TokenHash)
            // SAFETY: the caller's contract: the row's datums are still valid.
            .map(|d| unsafe { crate::fcall::varlena_bytes(d) })
    }
}

/// The transaction's start time: what `now()` returns, so every deadline in one transaction
/// is computed from the same instant, on the server's clock.
pub fn now() -> TimestampTz {
    // SAFETY: reads a backend-local value.
    unsafe { pg_sys::GetCurrentTransactionStartTimestamp() }
}

/// `ts + interval`, with SQL's calendar rules (months and days follow the session time zone).
pub fn add_interval(ts: TimestampTz, interval: Datum) -> TimestampTz {
    // SAFETY: `interval` is an Interval datum (by reference).
    let span = unsafe { &*(interval.cast_mut_ptr::<pg_sys::Interval>()) };
    // The usual lifetime is a plain duration: no calendar arithmetic needed.
    if span.month == 0 && span.day == 0 {
        if let Some(sum) = ts.checked_add(span.time).filter(|t| *t < END_OF_TIMESTAMPS) {
            return sum;
        }
    }
    // SAFETY: timestamptz_pl_interval takes a timestamptz and an Interval and returns a
    // timestamptz or raises "timestamp out of range".
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::timestamptz_pl_interval,
            &[Some(Datum::from(ts)), Some(interval)],
        )
        .expect("timestamptz_pl_interval returned NULL")
        .value() as i64
    }
}

/// PostgreSQL's END_TIMESTAMP: the first microsecond past the largest valid timestamp
/// (294277-01-01 00:00:00 UTC, counted from 2000-01-01).
const END_OF_TIMESTAMPS: i64 = 9_223_371_331_200_000_000;

/// The hard cap for a session (re)starting at `now`, from `varel_session.absolute_timeout`.
pub fn absolute_deadline(now: TimestampTz) -> Option<TimestampTz> {
    match gucs::ABSOLUTE_TIMEOUT.get() {
        0 => None,
        seconds => Some(now.saturating_add(i64::from(seconds) * 1_000_000)),
    }
}

/// The idle deadline for a session used at `now`: `now + max_age`, never past the cap.
pub fn idle_deadline(
    now: TimestampTz,
    max_age: Datum,
    absolute: Option<TimestampTz>,
) -> TimestampTz {
    let slid = add_interval(now, max_age);
    absolute.map_or(slid, |cap| slid.min(cap))
}

/// Whether `session_load` should slide `row`'s idle deadline now.
///
/// A load writes only when less than 80% of the session's `max_age` is left, so a session used
/// on every request is written at most once per fifth of its lifetime (every 4.8 hours for the
/// 24-hour default) however many requests it serves, and a burst of loads writes once. The cost
/// is that a session may end up to a fifth of `max_age` earlier than "max_age after its last
/// request"; `session_touch` slides unconditionally for apps that need the exact deadline.
pub fn refresh_due(row: &Row, now: TimestampTz) -> Option<TimestampTz> {
    let max_age = row.get(Col::MaxAge)?;
    let full_slide = add_interval(now, max_age);
    let slid = row
        .absolute_expires_at()
        .map_or(full_slide, |cap| full_slide.min(cap));
    let full = (full_slide as i128) - (now as i128);
    let left = (row.expires_at() as i128) - (now as i128);
    (slid > row.expires_at() && left * 5 < full * 4).then_some(slid)
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;

    /// `add_interval` (with its fast path for plain durations) agrees with SQL's
    /// `timestamptz + interval`, including calendar intervals across a DST change.
    #[pg_test]
    fn add_interval_agrees_with_sql() {
        Spi::run("SET LOCAL TimeZone = 'Europe/Paris'").unwrap();
        let cases = [
            "1 second",
            "24 hours",
            "1 day",
            "1 mon",
            "1 year 2 days 03:04:05.678901",
            "-2 hours",
            "00:00:00.000001",
            "30 days",
        ];
        for case in cases {
            let (sum, ts, interval) = Spi::get_three::<i64, i64, pgrx::datum::Interval>(&format!(
                "SELECT (extract(epoch FROM t + i) * 1000000)::int8, \
                        (extract(epoch FROM t) * 1000000)::int8, i \
                 FROM (SELECT '2026-03-28 12:00:00+01'::timestamptz AS t, '{case}'::interval AS i) x"
            ))
            .map(|(a, b, c)| (a.unwrap(), b.unwrap(), c.unwrap()))
            .unwrap();
            const UNIX_TO_PG_MICROS: i64 = 946_684_800_000_000;
            let interval = interval.into_datum().unwrap();
            let ours = add_interval(ts - UNIX_TO_PG_MICROS, interval) + UNIX_TO_PG_MICROS;
            assert_eq!(ours, sum, "interval {case}");
        }
    }

    #[pg_test]
    fn refresh_is_due_only_after_a_fifth_of_max_age() {
        let max_age: pgrx::datum::Interval = Spi::get_one("SELECT '100 seconds'::interval")
            .unwrap()
            .unwrap();
        let max_age = max_age.into_datum().unwrap();
        let at: i64 = 1_000_000_000_000;
        let mut row = Row::empty();
        row.set(Col::MaxAge, Some(max_age));
        let second = 1_000_000;
        for (left, due) in [
            (100, false),
            (81, false),
            (80, false),
            (79, true),
            (1, true),
        ] {
            row.set_int8(Col::ExpiresAt, Some(at + left * second));
            assert_eq!(refresh_due(&row, at).is_some(), due, "{left}s left");
        }
        // Never past the absolute deadline, and no write when the cap leaves nothing to slide.
        row.set_int8(Col::ExpiresAt, Some(at + second));
        row.set_int8(Col::AbsoluteExpiresAt, Some(at + 30 * second));
        assert_eq!(refresh_due(&row, at), Some(at + 30 * second));
        row.set_int8(Col::ExpiresAt, Some(at + 30 * second));
        assert_eq!(refresh_due(&row, at), None);
    }
}
