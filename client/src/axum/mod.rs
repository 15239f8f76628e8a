//! The axum integration (feature `axum`, on by default): a tower layer and an extractor.
//!
//! [`SessionLayer`] reads the cookie once per request and calls `session_load` once (the one
//! round trip on the hot path). Handlers take a [`CurrentSession`] and read or change it. When
//! the handler is done, the layer saves only what changed (one merge patch), sets a new cookie
//! when the token rotated (log in, log out, regenerate) or the session was created, re-sends it
//! when the server slid the idle deadline ([`Config::rolling`](crate::Config::rolling)), and
//! sends a removal cookie when the session was destroyed. A request that never touches the
//! session writes nothing and sets no cookie.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use varel_session_client::axum::{CurrentSession, SessionLayer};
//! use varel_session_client::{Config, PostgresStore};
//!
//! async fn visits(session: CurrentSession) -> String {
//!     let n = session.get_as::<u64>("visits").unwrap_or(0) + 1;
//!     session.set("visits", n);
//!     format!("visit number {n}")
//! }
//!
//! # async fn run(pool: deadpool_postgres::Pool) -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::new(pool, Config::default())?;
//! let app: Router = Router::new().route("/", get(visits)).layer(SessionLayer::new(store));
//! # Ok(()) }
//! ```

mod action;
mod backchannel;
mod erased;
mod extractor;
mod layer;
mod transport;

pub use backchannel::{
    BackChannelLogout, LogoutFailure, LogoutRequest, LogoutTokenError, BACKCHANNEL_LOGOUT_EVENT,
};
pub use extractor::{CurrentSession, FLASH_KEY};
pub use layer::{SessionLayer, SessionService};
