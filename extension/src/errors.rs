//! Errors for programmer mistakes (a NULL key, a negative lifetime, data over the size limit).
//!
//! Untrusted input (a malformed, unknown or expired token) is never an error: it means "no
//! session". The errors below are for the application's own bugs, so each carries a specific
//! SQLSTATE and a lowercase message that says what to fix. None of them ever includes a token:
//! callers pass fixed text and sizes only.
//!
//! [`raise`] and [`raise_with_hint`], which they are built on, are also how the rest of the
//! crate raises its other ERRORs (the `catalog`'s 55000, a failed read of random bytes).

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Raises an ERROR with `code`; never returns.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "varel_session").report(PgLogLevel::ERROR);
    unreachable!("an ERROR report returned")
}

/// Raises an ERROR with `code` and a hint; never returns.
pub fn raise_with_hint(code: PgSqlErrorCode, message: impl Into<String>, hint: &str) -> ! {
    ErrorReport::new(code, message.into(), "varel_session")
        .set_hint(hint)
        .report(PgLogLevel::ERROR);
    unreachable!("an ERROR report returned")
}

/// 22004: a required argument was NULL.
pub fn null_argument(name: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        format!("{name} must not be null"),
    )
}

/// 22023: an argument has a value the function cannot accept.
pub fn invalid_argument(message: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message)
}

/// 54000: session data would exceed `varel_session.max_data_bytes`.
pub fn data_too_large(bytes: usize, limit: i32) -> ! {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        format!("session data would be {bytes} bytes, over the limit of {limit} bytes"),
        "store less in the session, or raise varel_session.max_data_bytes",
    )
}
