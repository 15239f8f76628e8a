#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod config;
mod connection;
pub mod cookies;
mod error;
mod session;
mod sql;
mod store;

#[cfg(feature = "axum")]
pub mod axum;

pub use config::{Config, ConfigError, SameSite, MAX_COOKIE_AGE};
pub use connection::Connection;
pub use error::Error;
pub use session::Session;
pub use store::{PostgresStore, SessionStore, UserSession};
