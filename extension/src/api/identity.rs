//! A session's identity: its token (shown to the caller, stored as its hash) and its handle.
//! New sessions (`create`) and rotations (`rotate`) draw a fresh identity here, routed back to
//! this server when sharding (`routing`), and give their row its token.

use crate::errors;
use crate::routing::RouteTarget;
use crate::row::Row;
use crate::token::{self, RawToken};
use pgrx::pg_sys::Datum;
use pgrx::PgSqlErrorCode;

/// A fresh identity whose token routes to `target` (sharding, see `routing`): candidates are
/// drawn until one does, 2^route_bits on average. Each read of the operating system's generator
/// (the read, more than the hash, is what a candidate costs) brings twice the expected number of
/// candidates, at most 64, and the handle. Any fresh identity when there is no target.
pub(super) fn fresh_identity_for(target: Option<RouteTarget>) -> (RawToken, i64) {
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

/// A new token and a new handle, from one read of the OS CSPRNG.
pub(super) fn fresh_identity() -> (RawToken, i64) {
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
pub(super) fn assign_token(row: &mut Row<'_>, raw: &RawToken) -> Datum {
    row.set_token_hash(&token::hash(raw));
    crate::fmgr::new_varlena(token::encode(raw).as_bytes())
}
