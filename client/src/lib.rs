#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod config;
mod connection;
pub mod cookies;
mod error;
mod memory;
mod postgres;
mod same_key;
mod session;
mod sql;
mod store;

#[cfg(feature = "axum")]
pub mod axum;

pub use config::{Config, ConfigError, SameSite, Transport, MAX_COOKIE_AGE, TOKEN_HEADER};
pub use connection::Connection;
pub use error::Error;
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use session::Session;
pub use store::{SessionStore, UserSession};
