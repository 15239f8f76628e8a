//! The handler's view of the request's session.

use crate::session::Session;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};

/// The current request's session, as handlers see it (extract it as a handler argument).
///
/// Cloning it gives another handle on the same session. Changes are recorded and applied by
/// [`SessionLayer`](super::SessionLayer) when the response goes out: data changes as one merge
/// patch, log-in and log-out with a token rotation, destroy with a removal cookie.
#[derive(Clone)]
pub struct CurrentSession {
    pub(crate) state: Arc<Mutex<State>>,
}

/// What the handler asked for, applied by the layer at the end of the request.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) session: Session,
    /// The session came from the store (the request carried a live session's token).
    pub(crate) loaded: bool,
    pub(crate) log_in: Option<i64>,
    pub(crate) log_out: bool,
    pub(crate) regenerate: bool,
    pub(crate) destroy: bool,
}

impl CurrentSession {
    pub(crate) fn new(session: Option<Session>) -> CurrentSession {
        let loaded = session.is_some();
        CurrentSession {
            state: Arc::new(Mutex::new(State {
                session: session.unwrap_or_default(),
                loaded,
                ..State::default()
            })),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A handler that panicked while holding the lock leaves consistent data behind:
        // every method changes the state in one step.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the session (a snapshot of it, with this request's changes).
    pub fn with<R>(&self, read: impl FnOnce(&Session) -> R) -> R {
        read(&self.state().session)
    }

    /// One value (a copy).
    pub fn get(&self, key: &str) -> Option<Value> {
        self.state().session.get(key).cloned()
    }

    /// One value, deserialized; `None` when missing or of another shape.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.state().session.get_as(key)
    }

    /// Sets a value; saved when the response goes out (creating the session if needed).
    pub fn set(&self, key: impl Into<String>, value: impl Into<Value>) {
        self.state().session.set(key, value);
    }

    /// Removes a key; returns its value.
    pub fn delete(&self, key: &str) -> Option<Value> {
        self.state().session.delete(key)
    }

    /// Removes every key.
    pub fn clear(&self) {
        self.state().session.clear();
    }

    /// The logged-in user, counting a log-in or log-out made earlier in this request.
    pub fn user_id(&self) -> Option<i64> {
        let state = self.state();
        if state.log_out {
            return None;
        }
        state.log_in.or(state.session.user_id())
    }

    /// Whether a user is logged in (counting this request's log-in or log-out).
    pub fn is_authenticated(&self) -> bool {
        self.user_id().is_some()
    }

    /// Whether the request came with a live session.
    pub fn exists(&self) -> bool {
        self.state().loaded
    }

    /// The token of the session this request came with (for comparing with other sessions of
    /// the user); `None` for a new session. Never send it anywhere but the cookie.
    pub fn id(&self) -> Option<String> {
        self.state().session.id().map(str::to_owned)
    }

    /// Logs `user_id` in: the token rotates when the response goes out (against session
    /// fixation), and the session is created if it did not exist yet.
    pub fn log_in(&self, user_id: i64) {
        let mut state = self.state();
        state.log_in = Some(user_id);
        state.log_out = false;
    }

    /// Logs the user out but keeps the session and its data; the token rotates.
    pub fn log_out(&self) {
        let mut state = self.state();
        state.log_out = true;
        state.log_in = None;
    }

    /// Gives the session a new token when the response goes out.
    pub fn regenerate(&self) {
        self.state().regenerate = true;
    }

    /// Ends the session: it is deleted and the browser is told to drop the cookie.
    pub fn destroy(&self) {
        self.state().destroy = true;
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CurrentSession>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "CurrentSession used on a route without SessionLayer",
        ))
    }
}
