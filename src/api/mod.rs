//! The SQL-facing functions, declared in `sql/lifecycle.sql`.
//!
//! - [`create`]: `session_generate_id`, `session_new`.
//! - [`read`]: `session_get` (row and key), `session_load`.
//! - [`write`]: `session_set` (key and patch), `session_unset`, `session_clear`,
//!   `session_touch`, `session_set_max_age`, `session_destroy`.
//! - [`rotate`]: `session_regenerate`, `session_set_user`, `session_clear_user`.
//! - [`atomic`]: same-key atomic operations: `session_incr`, `session_take`,
//!   `session_push`, `session_set_if`, `session_set_data`.
//! - [`internal`]: helpers the SQL-language functions call (`token_hash`, `lock_user`).
//! - [`session_write`]: the shared start of every per-request write.
//!
//! Each function validates the caller's own arguments first (a NULL key is a programmer's
//! mistake and an ERROR whatever the token), then treats the token as untrusted input: NULL or
//! malformed means "no session" without touching the table.

// Safe code only: the C symbols that `sql_function!` generates are the one exemption.
#![deny(unsafe_code)]

mod atomic;
mod create;
mod internal;
#[cfg(any(test, feature = "pg_test"))]
mod panic_probe;
mod read;
mod rotate;
mod session_write;
mod write;

use crate::errors;
use crate::routing::RouteTarget;
use crate::row::Row;
use crate::token::{self, RawToken, TokenHash};
use pgrx::pg_sys::Datum;
use pgrx::PgSqlErrorCode;

/// An argument the caller must not pass as NULL: a programmer's mistake, whatever the token.
fn required<T>(arg: Option<T>, name: &str) -> T {
    arg.unwrap_or_else(|| errors::null_argument(name))
}

/// Whether a row (possibly a newer version found after a concurrent update) is still the
/// session the caller's token names: a regenerate in between gives it another token.
fn same_token(hash: &TokenHash) -> impl Fn(&Row<'_>) -> bool + '_ {
    move |row: &Row<'_>| row.token_hash() == Some(&hash[..])
}

/// A new token and a new handle, from one read of the OS CSPRNG.
/// A fresh identity whose token routes to `target` (sharding, see `routing`): candidates are
/// drawn until one does, 2^route_bits on average. Each read of the operating system's generator
/// (the read, more than the hash, is what a candidate costs) brings twice the expected number of
/// candidates, at most 64, and the handle. Any fresh identity when there is no target.
fn fresh_identity_for(target: Option<RouteTarget>) -> (RawToken, i64) {
    const MAX_CANDIDATES: usize = 64;
    let Some(target) = target else {
        return fresh_identity();
    };
    let candidates = (2 * target.expected_draws()).clamp(2, MAX_CANDIDATES);
    let mut buffer = [0u8; token::TOKEN_BYTES * MAX_CANDIDATES + 8];
    let batch = &mut buffer[..token::TOKEN_BYTES * candidates + 8];
    loop {
        if token::fill_random(batch).is_err() {
            errors::raise(
                PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
                "could not read random bytes from the operating system",
            );
        }
        let (tokens, handle) = batch.split_at(token::TOKEN_BYTES * candidates);
        for candidate in tokens.chunks_exact(token::TOKEN_BYTES) {
            let mut raw = [0u8; token::TOKEN_BYTES];
            raw.copy_from_slice(candidate);
            if target.matches(&token::hash(&raw)) {
                return (raw, i64::from_le_bytes(handle.try_into().unwrap()));
            }
        }
    }
}

fn fresh_identity() -> (RawToken, i64) {
    let mut bytes = [0u8; token::TOKEN_BYTES + 8];
    if token::fill_random(&mut bytes).is_err() {
        errors::raise(
            PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
            "could not read random bytes from the operating system",
        );
    }
    let mut raw = [0u8; token::TOKEN_BYTES];
    raw.copy_from_slice(&bytes[..token::TOKEN_BYTES]);
    let handle = i64::from_le_bytes(bytes[token::TOKEN_BYTES..].try_into().unwrap());
    (raw, handle)
}

/// Gives `row` the token `raw` (a new session's first, or a rotation's next): stores its hash,
/// and returns the token's text form for the caller.
fn assign_token(row: &mut Row<'_>, raw: &RawToken) -> Datum {
    row.set_token_hash(&token::hash(raw));
    crate::fmgr::new_varlena(token::encode(raw).as_bytes())
}
