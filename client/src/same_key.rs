//! The same-key operations' rules for data held in memory, with the extension's results and
//! SQLSTATEs (`session_incr`, `session_push`): [`MemoryStore`](crate::MemoryStore) applies them
//! to its sessions, and `CurrentSession` to a session not yet in the store.

use crate::error::Error;
use serde_json::Value;

/// The integer under `key` (`current`, a missing key counting as 0) plus `by`.
pub(crate) fn incremented(current: Option<&Value>, key: &str, by: i64) -> Result<i64, Error> {
    let current = match current {
        None => 0,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Some(Value::Number(n)) if n.is_u64() => return Err(out_of_range(key)),
        Some(_) => {
            return Err(Error::invalid(
                "22023",
                format!("the value of key \"{key}\" is not an integer"),
            ))
        }
    };
    current.checked_add(by).ok_or_else(|| out_of_range(key))
}

/// The array under `key` (`current`, a missing key counting as empty) with `value` appended,
/// keeping the newest `max_items`.
pub(crate) fn appended(
    current: Option<&Value>,
    key: &str,
    value: Value,
    max_items: Option<i32>,
) -> Result<Vec<Value>, Error> {
    check_max_items(max_items)?;
    let mut items = match current {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(Error::invalid(
                "22023",
                format!("the value of key \"{key}\" is not an array"),
            ))
        }
    };
    items.push(value);
    keep_newest(&mut items, max_items);
    Ok(items)
}

/// Refuses a `max_items` that is not positive (`session_push` checks it before the session is
/// looked up).
pub(crate) fn check_max_items(max_items: Option<i32>) -> Result<(), Error> {
    match max_items {
        Some(max) if max <= 0 => Err(Error::invalid(
            "22023",
            "max_items must be a positive integer".into(),
        )),
        _ => Ok(()),
    }
}

/// Drops the oldest items beyond `max_items`.
pub(crate) fn keep_newest(items: &mut Vec<Value>, max_items: Option<i32>) {
    if let Some(max) = max_items {
        let excess = items.len().saturating_sub(max.max(0) as usize);
        items.drain(..excess);
    }
}

fn out_of_range(key: &str) -> Error {
    Error::invalid(
        "22003",
        format!("the value of key \"{key}\" would be out of range for bigint"),
    )
}
