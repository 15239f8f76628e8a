//! Deadlines: the server's clock, interval arithmetic, and the idle and absolute deadlines of
//! a session.
//!
//! A session has two: the idle deadline (`expires_at`), `max_age` after it was last used and
//! slid forward as it is used, and the absolute deadline (`absolute_expires_at`), a hard cap
//! from `varel_session.absolute_timeout` restarted only by a log-in. The idle deadline is never
//! past the absolute one ([`cap`]). [`refresh_due`] is `session_load`'s throttle: when a load
//! slides the idle deadline.

use crate::gucs;
use crate::row::Row;
use pgrx::pg_sys::{self, Datum, TimestampTz};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// The transaction's start time: what `now()` returns, so every deadline in one transaction
/// is computed from the same instant, on the server's clock.
pub fn now() -> TimestampTz {
    // SAFETY: reads a backend-local value.
    unsafe { pg_sys::GetCurrentTransactionStartTimestamp() }
}

/// An `interval` value (a session's `max_age`), valid for `'a`: borrowed from a row (the slot
/// that pins its buffer), or an argument or a value built here, in memory of the current call
/// (`'static` in Rust's terms; never keep one across calls).
#[derive(Clone, Copy)]
pub struct Interval<'a>(NonNull<pg_sys::Interval>, PhantomData<&'a pg_sys::Interval>);

impl<'a> Interval<'a> {
    /// # Safety
    /// `datum` must be an interval datum that stays valid for `'a`.
    pub unsafe fn from_datum(datum: Datum) -> Interval<'a> {
        // SAFETY: the caller's contract: interval is a by-reference type, never NULL here.
        Interval(
            unsafe { NonNull::new_unchecked(datum.cast_mut_ptr()) },
            PhantomData,
        )
    }

    /// A plain duration of `seconds`.
    pub fn seconds(seconds: i32) -> Interval<'static> {
        // SAFETY: palloc0 returns a zeroed Interval-sized buffer or raises an ERROR.
        unsafe {
            let interval =
                pg_sys::palloc0(std::mem::size_of::<pg_sys::Interval>()) as *mut pg_sys::Interval;
            (*interval).time = i64::from(seconds) * 1_000_000;
            Interval(NonNull::new_unchecked(interval), PhantomData)
        }
    }

    pub fn datum(self) -> Datum {
        Datum::from(self.0.as_ptr())
    }

    /// `ts + interval`, with SQL's calendar rules (months and days follow the session time
    /// zone).
    pub fn after(self, ts: TimestampTz) -> TimestampTz {
        // SAFETY: a valid interval (the type's invariant).
        let span = unsafe { self.0.as_ref() };
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
                &[Some(Datum::from(ts)), Some(self.datum())],
            )
            .expect("timestamptz_pl_interval returned NULL")
            .value() as i64
        }
    }

    /// Whether a lifetime of this interval starting at `now` ends after it: what a `max_age`
    /// must be.
    pub fn is_positive_at(self, now: TimestampTz) -> bool {
        self.after(now) > now
    }
}

/// PostgreSQL's END_TIMESTAMP: the first microsecond past the largest valid timestamp
/// (294277-01-01 00:00:00 UTC, counted from 2000-01-01).
const END_OF_TIMESTAMPS: i64 = 9_223_371_331_200_000_000;

/// `varel_session.max_age`, the lifetime of a session created without one.
pub fn default_max_age() -> Interval<'static> {
    Interval::seconds(gucs::MAX_AGE.get())
}

/// The hard cap for a session (re)starting at `now`, from `varel_session.absolute_timeout`.
pub fn absolute_deadline(now: TimestampTz) -> Option<TimestampTz> {
    match gucs::ABSOLUTE_TIMEOUT.get() {
        0 => None,
        seconds => Some(now.saturating_add(i64::from(seconds) * 1_000_000)),
    }
}

/// `deadline`, never past the absolute deadline.
pub fn cap(deadline: TimestampTz, absolute: Option<TimestampTz>) -> TimestampTz {
    absolute.map_or(deadline, |absolute| deadline.min(absolute))
}

/// The idle deadline for a session used at `now`: `now + max_age`, never past the absolute
/// deadline.
pub fn idle_deadline(
    now: TimestampTz,
    max_age: Interval<'_>,
    absolute: Option<TimestampTz>,
) -> TimestampTz {
    cap(max_age.after(now), absolute)
}

/// Whether `session_load` should slide `row`'s idle deadline now, and to what.
///
/// A load writes only when less than 80% of the session's `max_age` is left, so a session used
/// on every request is written at most once per fifth of its lifetime (every 4.8 hours for the
/// 24-hour default) however many requests it serves, and a burst of loads writes once. The cost
/// is that a session may end up to a fifth of `max_age` earlier than "max_age after its last
/// request"; `session_touch` slides unconditionally for apps that need the exact deadline.
///
/// `idle_cap` is the latest idle deadline the session's assurance level allows
/// (`auth_context::idle_cap`): the slide and the fifth are of the lifetime it leaves.
pub fn refresh_due(
    row: &Row<'_>,
    now: TimestampTz,
    idle_cap: Option<TimestampTz>,
) -> Option<TimestampTz> {
    let full_slide = row.max_age()?.after(now);
    let full_slide = idle_cap.map_or(full_slide, |cap| full_slide.min(cap));
    let slid = cap(full_slide, row.absolute_expires_at());
    let full = (full_slide as i128) - (now as i128);
    let left = (row.expires_at() as i128) - (now as i128);
    (slid > row.expires_at() && left * 5 < full * 4).then_some(slid)
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use crate::row::Col;
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
            // SAFETY: an interval datum, valid for the test.
            let interval = unsafe { super::Interval::from_datum(interval) };
            let ours = interval.after(ts - UNIX_TO_PG_MICROS) + UNIX_TO_PG_MICROS;
            assert_eq!(ours, sum, "interval {case}");
        }
    }

    #[pg_test]
    fn refresh_is_due_only_after_a_fifth_of_max_age() {
        let max_age: pgrx::datum::Interval = Spi::get_one("SELECT '100 seconds'::interval")
            .unwrap()
            .unwrap();
        // SAFETY: an interval datum, valid for the test.
        let max_age = unsafe { super::Interval::from_datum(max_age.into_datum().unwrap()) };
        let at: i64 = 1_000_000_000_000;
        let mut row = Row::empty();
        row.set_max_age(max_age);
        let second = 1_000_000;
        for (left, due) in [
            (100, false),
            (81, false),
            (80, false),
            (79, true),
            (1, true),
        ] {
            row.set_int8(Col::ExpiresAt, Some(at + left * second));
            assert_eq!(refresh_due(&row, at, None).is_some(), due, "{left}s left");
        }
        // Never past the absolute deadline, and no write when the cap leaves nothing to slide.
        row.set_int8(Col::ExpiresAt, Some(at + second));
        row.set_int8(Col::AbsoluteExpiresAt, Some(at + 30 * second));
        assert_eq!(refresh_due(&row, at, None), Some(at + 30 * second));
        row.set_int8(Col::ExpiresAt, Some(at + 30 * second));
        assert_eq!(refresh_due(&row, at, None), None);
    }
}
