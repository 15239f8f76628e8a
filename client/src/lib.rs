#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The README is the crate's root doc: its links are checked with the rest. The docs build with
// and without the `axum` feature, so what lies outside `axum/` names its items without links.
#![deny(rustdoc::broken_intra_doc_links)]

// The modules, one concern each:
// - auth: `AuthContext`, how a user authenticated (assurance level, methods), for log-ins and
//   re-authentications.
// - config: the session and cookie settings (`Config`, `Transport`) and the checks that keep
//   them safe.
// - connection: the `Connection` trait, what the store runs its statements on (a pooled
//   client or a transaction).
// - cookies (public): writing the session cookie, its removal, and reading the token from a
//   `Cookie` header.
// - csrf: CSRF tokens as the extension derives them, for the memory store.
// - error: the crate's one error type.
// - memory: `MemoryStore`, the store contract kept in the process, for tests.
// - postgres: `PostgresStore` over the extension's SQL functions, and its view on one
//   connection (`OnConnection`), where every operation's SQL is.
// - same_key: the same-key operations' rules (incr, push) for data held in memory.
// - session: `Session`, a session as the application sees it, with its unsaved changes.
// - sql: every statement the client sends, with its parameter types.
// - store: the `SessionStore` contract every store implements.
// - axum (public, feature `axum`): the tower layer and the extractor, in
//   - action: what a handler asked to happen to the session's identity (log in, log out...);
//   - backchannel: `BackChannelLogout`, the OpenID Connect back-channel logout endpoint;
//   - erased: the store behind `CurrentSession`, its type erased;
//   - extractor: `CurrentSession`, the handler's view of the request's session;
//   - layer: `SessionLayer`, which saves what changed when the response goes out;
//   - transport: where the token is read from and written to (cookie, bearer, header).

mod auth;
mod config;
mod connection;
pub mod cookies;
mod csrf;
mod error;
mod memory;
mod postgres;
mod same_key;
mod session;
mod sql;
mod store;

#[cfg(feature = "axum")]
pub mod axum;

pub use auth::AuthContext;
pub use config::{Config, ConfigError, SameSite, Transport, MAX_COOKIE_AGE, TOKEN_HEADER};
pub use connection::Connection;
pub use error::Error;
pub use memory::MemoryStore;
pub use postgres::{OnConnection, PostgresStore};
pub use session::Session;
pub use store::{IdpLogin, SessionStore, UserSession};
