//! Same-key atomic operations: counters, read-once values, bounded lists, compare-and-set, and
//! replacing all of the data. Each reads and writes the one row in one update built from its
//! newest version (`write::change_data`), so concurrent requests never lose each other's
//! updates of the same key, which a get-then-set from the application would.
//!
//! Like every write, they change only a live session (never create or revive one), respect
//! `varel_session.max_data_bytes`, and name the key (never the token) in their errors.

use super::arguments::required;
use super::create::checked_data;
use super::write::{change_data, check_size, DataChange};
use crate::errors;
use crate::fmgr::sql_function;
use crate::jsonb::{self, NotAnInteger};
use pgrx::pg_sys::Datum;
use pgrx::PgSqlErrorCode;

sql_function!(
    /// `session_incr(id text, key text, by bigint DEFAULT 1) RETURNS bigint`: adds `by` to
    /// the integer under `key` (a missing key counts as 0) and returns the new value.
    varel_session_incr,
    pg_finfo_varel_session_incr,
    |call| {
        let key = required(call.bytes(1), "key");
        let by = required(call.int8(2), "by");
        check_key(key);
        let sum = change_data(call, c"session_incr", |data| {
            let current = match jsonb::value_of(data, key) {
                None => 0,
                Some(value) => match jsonb::as_i64(&value) {
                    Ok(n) => n,
                    Err(NotAnInteger::WrongType) => errors::invalid_argument(format!(
                        "the value of key \"{}\" is not an integer",
                        shown(key)
                    )),
                    Err(NotAnInteger::OutOfRange) => out_of_range(key),
                },
            };
            let sum = current.checked_add(by).unwrap_or_else(|| out_of_range(key));
            DataChange::Replace(jsonb::with_value(data, key, &jsonb::number(sum)), sum)
        });
        match sum {
            Some(sum) => Datum::from(sum),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `session_take(id text, key text) RETURNS jsonb`: returns the value under `key` and
    /// removes it in the same update (read once: flash messages, one-time nonces). NULL when
    /// there is no such key or no live session.
    varel_session_take,
    pg_finfo_varel_session_take,
    |call| {
        let key = required(call.bytes(1), "key");
        let taken = change_data(call, c"session_take", |data| {
            match jsonb::value_of(data, key) {
                None => DataChange::Keep(None),
                Some(value) => {
                    let value = value.as_document();
                    DataChange::Replace(jsonb::without(data, key), Some(value))
                }
            }
        });
        match taken.flatten() {
            Some(value) => value.datum(),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `session_push(id text, key text, value jsonb, max_items integer DEFAULT NULL) RETURNS
    /// integer`: appends `value` to the array under `key` (creating it), keeps only the newest
    /// `max_items` when given, and returns the array's new length.
    varel_session_push,
    pg_finfo_varel_session_push,
    |call| {
        let key = required(call.bytes(1), "key");
        let value = required(call.jsonb(2), "value");
        let max_items = match call.int4(3) {
            None => None,
            Some(n) if n > 0 => Some(n as usize),
            Some(_) => errors::invalid_argument("max_items must be a positive integer"),
        };
        check_key(key);
        check_size(key.len() + value.size());
        let length = change_data(call, c"session_push", |data| {
            let existing = jsonb::value_of(data, key);
            let item = value.as_value();
            let Some((array, length)) = jsonb::appended(existing.as_ref(), &item, max_items)
            else {
                errors::invalid_argument(format!(
                    "the value of key \"{}\" is not an array",
                    shown(key)
                ))
            };
            DataChange::Replace(jsonb::with_value(data, key, &array), length)
        });
        match length {
            Some(length) => Datum::from(length as i32),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `session_set_if(id text, key text, expected jsonb, value jsonb) RETURNS boolean`:
    /// compare-and-set. Sets `key` to `value` (JSON `null` removes it) only if its current
    /// value equals `expected` by jsonb equality, or, with `expected` NULL, only if the key is
    /// absent. True if it did, false if the value differed, NULL without a live session.
    varel_session_set_if,
    pg_finfo_varel_session_set_if,
    |call| {
        let key = required(call.bytes(1), "key");
        let expected = call.jsonb(2);
        let value = required(call.jsonb(3), "value");
        check_key(key);
        check_size(key.len() + value.size());
        let swapped = change_data(call, c"session_set_if", |data| {
            let current = jsonb::value_of(data, key);
            let matches = match (current, expected) {
                (None, None) => true,
                (Some(current), Some(expected)) => current.equals(expected),
                _ => false,
            };
            if !matches {
                return DataChange::Keep(false);
            }
            let new = value.as_value();
            let replaced = if new.is_null() {
                jsonb::without(data, key)
            } else {
                jsonb::with_value(data, key, &new)
            };
            DataChange::Replace(replaced, true)
        });
        match swapped {
            Some(swapped) => Datum::from(swapped),
            None => call.null(),
        }
    }
);

sql_function!(
    /// `session_set_data(id text, data jsonb) RETURNS boolean`: replaces all of the session's
    /// data (what frameworks that save the whole session dict need), atomically.
    varel_session_set_data,
    pg_finfo_varel_session_set_data,
    |call| {
        let data = checked_data(required(call.jsonb(1), "data"));
        let written = change_data(call, c"session_set_data", |_| DataChange::Replace(data, ()));
        Datum::from(written.is_some())
    }
);

/// A key longer than the data may be is refused before the session is read.
fn check_key(key: &[u8]) {
    check_size(key.len());
}

/// 22003, naming the key.
fn out_of_range(key: &[u8]) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        format!(
            "the value of key \"{}\" would be out of range for bigint",
            shown(key)
        ),
    )
}

/// A key as shown in an error: the programmer's own key, cut short if it is long.
fn shown(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}
