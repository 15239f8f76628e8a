//! Session events: when `varel_session.events` is on, a `NOTIFY` on
//! `varel_session.events_channel` for each change in a session's life, so that other programs
//! (a websocket server closing a revoked user's sockets, an audit log) can react.
//!
//! NOTIFY is transactional: an event is delivered when the transaction that caused it commits,
//! never if it rolls back. The payload is JSON with the event, the session's handle (never its
//! token or the token's hash), the user id and the time:
//! `{"event": "revoked", "handle": "9dc65400fad3dc0b", "user_id": 42, "at": "2026-11-27T14:00:00.000000Z"}`;
//! the cleanup event has no handle and says how many sessions it `removed`.

use crate::deadlines;
use crate::fmgr;
use crate::gucs;
use pgrx::pg_sys;

/// What happened to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Created,
    Rotated,
    LoggedIn,
    LoggedOut,
    Destroyed,
    Revoked,
    Evicted,
    Expired,
    Cleanup,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Rotated => "rotated",
            Event::LoggedIn => "logged_in",
            Event::LoggedOut => "logged_out",
            Event::Destroyed => "destroyed",
            Event::Revoked => "revoked",
            Event::Evicted => "evicted",
            Event::Expired => "expired",
            Event::Cleanup => "cleanup",
        }
    }

    pub fn from_name(name: &str) -> Option<Event> {
        [
            Event::Created,
            Event::Rotated,
            Event::LoggedIn,
            Event::LoggedOut,
            Event::Destroyed,
            Event::Revoked,
            Event::Evicted,
            Event::Expired,
            Event::Cleanup,
        ]
        .into_iter()
        .find(|e| e.name() == name)
    }
}

/// Sends `event` if events are on; does nothing otherwise.
pub fn emit(event: Event, handle: Option<i64>, user_id: Option<i64>, removed: Option<i64>) {
    if !gucs::EVENTS.get() {
        return;
    }
    let Some(channel) = gucs::EVENTS_CHANNEL.get() else {
        return;
    };
    let payload = payload(event, handle, user_id, removed, deadlines::now());
    let channel = fmgr::new_varlena(channel.as_bytes());
    let payload = fmgr::new_varlena(payload.as_bytes());
    // SAFETY: pg_notify(text, text) with two text datums; it queues the notification for the
    // end of the transaction, or raises an ERROR (bad channel name, payload too long).
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::pg_notify,
            &[Some(channel), Some(payload)],
        );
    }
}

/// The JSON payload of an event.
fn payload(
    event: Event,
    handle: Option<i64>,
    user_id: Option<i64>,
    removed: Option<i64>,
    at: i64,
) -> String {
    let mut json = format!("{{\"event\": \"{}\"", event.name());
    if let Some(handle) = handle {
        json.push_str(&format!(", \"handle\": \"{:016x}\"", handle as u64));
    }
    if event != Event::Cleanup {
        match user_id {
            Some(id) => json.push_str(&format!(", \"user_id\": {id}")),
            None => json.push_str(", \"user_id\": null"),
        }
    }
    if let Some(removed) = removed {
        json.push_str(&format!(", \"removed\": {removed}"));
    }
    json.push_str(&format!(", \"at\": \"{}\"}}", rfc3339(at)));
    json
}

/// A PostgreSQL timestamp (microseconds since 2000-01-01 00:00 UTC) in RFC 3339, UTC.
fn rfc3339(timestamp: i64) -> String {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    // Days from 1970-01-01 to 2000-01-01.
    const EPOCH_2000: i64 = 10_957;
    let days = timestamp.div_euclid(MICROS_PER_DAY) + EPOCH_2000;
    let micros = timestamp.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds = micros / 1_000_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        micros % 1_000_000
    )
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;

    #[test]
    fn payload_has_the_handle_never_more() {
        let json = payload(
            Event::Revoked,
            Some(0x9dc6_5400_fad3_dc0b_u64 as i64),
            Some(42),
            None,
            0,
        );
        assert_eq!(
            json,
            r#"{"event": "revoked", "handle": "9dc65400fad3dc0b", "user_id": 42, "at": "2000-01-01T00:00:00.000000Z"}"#
        );
        let cleanup = payload(Event::Cleanup, None, None, Some(7), -1);
        assert_eq!(
            cleanup,
            r#"{"event": "cleanup", "removed": 7, "at": "1999-12-31T23:59:59.999999Z"}"#
        );
    }

    #[test]
    fn dates_agree_with_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_784), (2026, 11, 27));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[pgrx::pg_test]
    fn timestamps_agree_with_sql() {
        for text in [
            "2026-11-27 14:05:06.123456+00",
            "2024-02-29 23:59:59.999999+00",
            "1999-01-01 00:00:00+00",
        ] {
            let (micros, iso): (i64, String) = pgrx::Spi::get_two(&format!(
                "SELECT ((extract(epoch FROM t) - 946684800) * 1000000)::int8, \
                        to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
                 FROM (SELECT '{text}'::timestamptz AS t) x"
            ))
            .map(|(a, b)| (a.unwrap(), b.unwrap()))
            .unwrap();
            assert_eq!(rfc3339(micros), iso, "{text}");
        }
    }
}
