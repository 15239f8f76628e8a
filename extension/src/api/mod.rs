//! The SQL-facing functions, declared in `sql/lifecycle.sql`.
//!
//! - [`create`]: `session_generate_id`, `session_new`.
//! - [`read`]: `session_get` (row and key), `session_load`.
//! - [`write`](mod@write): `session_set` (key and patch), `session_unset`, `session_clear`,
//!   `session_touch`, `session_set_max_age`, `session_destroy`.
//! - [`rotate`]: `session_regenerate`, `session_set_user`, `session_clear_user`.
//! - [`atomic`]: same-key atomic operations: `session_incr`, `session_take`,
//!   `session_push`, `session_set_if`, `session_set_data`.
//! - [`internal`]: helpers the SQL-language functions call (`token_hash`, `lock_user`,
//!   `notify_event`).
//! - `panic_probe` (test builds only): `test_write_then_panic`, which proves a panic rolls back.
//!
//! And what several of them share:
//!
//! - [`arguments`]: the caller's arguments that must not be NULL.
//! - [`identity`]: a new session's (or a rotation's) token and handle, and giving a row its
//!   token.
//! - [`session_write`]: the shared start of every per-request write.
//!
//! Each function validates the caller's own arguments first (a NULL key is a programmer's
//! mistake and an ERROR whatever the token), then treats the token as untrusted input: NULL or
//! malformed means "no session" without touching the table.

// Safe code only: the C symbols that `sql_function!` generates are the one exemption.
#![deny(unsafe_code)]

mod arguments;
mod atomic;
mod create;
mod identity;
mod internal;
#[cfg(any(test, feature = "pg_test"))]
mod panic_probe;
mod read;
mod rotate;
mod session_write;
mod write;
