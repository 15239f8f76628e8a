//! The caller's own arguments, checked before the token is looked at: a NULL where a value
//! is required is a programmer's mistake, an ERROR whatever the token. Used by every function
//! with such an argument.

use crate::errors;

/// An argument the caller must not pass as NULL: a programmer's mistake, whatever the token.
pub(super) fn required<T>(arg: Option<T>, name: &str) -> T {
    arg.unwrap_or_else(|| errors::null_argument(name))
}
