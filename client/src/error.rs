//! The crate's one error type.

use crate::config::ConfigError;

/// What can go wrong talking to the session store.
///
/// "No such session" is its own variant: a token that names no live session is normal (an
/// expired cookie, a logged-out tab), not a failure, and callers usually start a new session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token names no live session (never existed, expired, destroyed, revoked, or was
    /// rotated by another request).
    #[error("no such session")]
    NoSession,
    /// The database refused or failed the call.
    #[error("session store database error: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// No connection could be taken from the pool.
    #[error("could not get a database connection from the pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The configuration is unsafe or would be rejected by browsers.
    #[error("invalid session configuration: {0}")]
    Config(#[from] ConfigError),
    /// A store other than PostgreSQL refused the call as the database would, with the same
    /// SQLSTATE (e.g. [`MemoryStore`](crate::MemoryStore)'s `incr` of a value that is not an
    /// integer, `22023`).
    #[error("{message}")]
    Invalid {
        /// The SQLSTATE PostgreSQL gives for the same mistake.
        sqlstate: &'static str,
        /// What was wrong, naming the key (never the token).
        message: String,
    },
}

impl Error {
    /// The SQLSTATE of a database error, e.g. `"54000"` when the session's data would grow
    /// over `varel_session.max_data_bytes`.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Database(e) => e.code().map(|c| c.code()),
            Error::Invalid { sqlstate, .. } => Some(sqlstate),
            _ => None,
        }
    }

    pub(crate) fn invalid(sqlstate: &'static str, message: String) -> Error {
        Error::Invalid { sqlstate, message }
    }
}
