//! An [actix-session](https://docs.rs/actix-session) `SessionStore` on the varel_session
//! PostgreSQL extension: `SessionMiddleware::new(VarelSessionStore::new(pool), key)`, and every
//! actix-web app keeps its `Session` handlers.
//!
//! - **Keys**: a new session's key is the extension's token (`session_new`: 32 bytes from the
//!   server's CSPRNG), of which only the SHA-256 is stored. actix-session signs or encrypts it
//!   in the cookie, as it does any store's key.
//! - **Saves**: actix-session hands the store the whole state of a changed session. The store
//!   writes only the keys whose values differ from what the same request loaded, as one merge
//!   patch, so concurrent requests of one browser that change different keys both land
//!   (`varel_session_adapter_support` says how it knows what a request loaded).
//! - **Nothing revived**: an update of a session that ended meanwhile (logged out elsewhere,
//!   revoked, expired) writes nothing, and the next request has no session; that request is not
//!   failed (actix-session would answer 500).
//! - **Rotation**: `Session::renew()` (at log-in) is actix-session's delete of the old key and a
//!   save under a new one. With [`VarelSessionStore::with_user_key`], a change of the user in an
//!   update rotates the key on the server (`session_set_user`), and the new key goes into the
//!   cookie.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use anyhow::anyhow;
use deadpool_postgres::Pool;
use serde_json::{Map, Value};
use std::collections::HashMap;
use tokio_postgres::types::ToSql;
use varel_session_adapter_support::LoadedVersions;

/// actix-session's session state: each value is the JSON text of what a handler inserted.
type SessionState = HashMap<String, String>;
/// actix-session's time type (actix-web's cookie crate's, which is time's).
type Duration = time::Duration;

/// The state entry under which a loaded session carries its own key (the extension's token), so
/// that a handler can call the extension's other functions on its session: atomic operations
/// such as `session_incr`, `session_handle` for a "your devices" page. actix-session does not
/// show handlers the key. Read it with `session.get::<String>(KEY_ENTRY)`; the store never
/// stores it (a save or update leaves it out), and a session created in this request has it
/// from the next request on.
pub const KEY_ENTRY: &str = "varel_session.key";

/// The actix-session store over a `deadpool-postgres` pool of a database with the extension
/// (`CREATE EXTENSION varel_session`, or the SQL edition), whose role has the API's two grants.
#[derive(Clone, Debug)]
pub struct VarelSessionStore {
    pool: Pool,
    loaded: LoadedVersions<String, SessionState>,
    user_key: Option<String>,
}

impl VarelSessionStore {
    /// A store over `pool`.
    pub fn new(pool: Pool) -> VarelSessionStore {
        VarelSessionStore {
            pool,
            loaded: LoadedVersions::default(),
            user_key: None,
        }
    }

    /// Records the integer under `key` in the session's state as the session's user, so that
    /// the extension's per-user functions (a user's sessions, log out everywhere, the cap of
    /// `varel_session.max_sessions_per_user`) see it. A change of the user rotates the
    /// session's key, which the cookie then carries.
    pub fn with_user_key(mut self, key: impl Into<String>) -> VarelSessionStore {
        self.user_key = Some(key.into());
        self
    }

    /// The pool the store takes connections from (for the extension's other functions).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The CSRF token of the session with key `key` (read it from the session with
    /// `session.get::<String>(KEY_ENTRY)`): the extension's `session_csrf_token`, derived from
    /// the key, stored nowhere, changed by every new key (`renew()` at log-in); `None` when the
    /// session is not live.
    pub async fn csrf_token(&self, key: &str) -> anyhow::Result<Option<String>> {
        let rows = self
            .query("SELECT varel_session.session_csrf_token($1)", &[&key])
            .await?;
        Ok(rows.first().and_then(|row| row.get(0)))
    }

    /// Whether `candidate` (what the form or header sent) is the CSRF token of the live session
    /// with key `key`, compared in constant time by the extension; false without a key (a
    /// session created in this request) or for an ended session: refuse the request then.
    pub async fn verify_csrf(&self, key: Option<&str>, candidate: &str) -> anyhow::Result<bool> {
        let Some(key) = key else {
            return Ok(false);
        };
        let rows = self
            .query(
                "SELECT varel_session.session_csrf_verify($1, $2)",
                &[&key, &candidate],
            )
            .await?;
        Ok(rows.first().is_some_and(|row| row.get(0)))
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> anyhow::Result<Vec<tokio_postgres::Row>> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.query(&statement, params).await?)
    }

    /// The user the state names, if the store records one.
    fn user_of(&self, state: &SessionState) -> Option<i64> {
        let key = self.user_key.as_ref()?;
        serde_json::from_str::<Value>(state.get(key)?)
            .ok()?
            .as_i64()
    }
}

impl SessionStore for VarelSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let rows = self
            .query(
                "SELECT data FROM varel_session.session_load($1)",
                &[&session_key.as_ref()],
            )
            .await
            .map_err(LoadError::Other)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let state: SessionState = match row.get::<_, Value>(0) {
            Value::Object(map) => map
                .into_iter()
                .filter(|(key, _)| key != KEY_ENTRY)
                .map(|(key, value)| (key, value.to_string()))
                .collect(),
            _ => SessionState::new(),
        };
        self.loaded
            .remember(session_key.as_ref().to_owned(), state.clone());
        let mut shown = state;
        shown.insert(
            KEY_ENTRY.to_owned(),
            Value::String(session_key.as_ref().to_owned()).to_string(),
        );
        Ok(Some(shown))
    }

    async fn save(
        &self,
        mut session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        session_state.remove(KEY_ENTRY);
        let data = document(&session_state);
        let user_id = self.user_of(&session_state);
        let rows = self
            .query(
                "SELECT varel_session.session_new(max_age => $1::text::interval, user_id => $2,
                                                  data => $3)",
                &[&lifetime(ttl), &user_id, &data],
            )
            .await
            .map_err(SaveError::Other)?;
        let token: String = rows[0].get(0);
        self.loaded.remember(token.clone(), session_state);
        SessionKey::try_from(token).map_err(|error| SaveError::Other(error.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        mut session_state: SessionState,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        session_state.remove(KEY_ENTRY);
        let key = session_key.as_ref().to_owned();
        let before = self.loaded.take(key.clone());
        // The data: a patch against what this request loaded, or all of it when the store does
        // not know that (the state was saved from another task).
        let (sql, changes) = match &before {
            Some(before) => (
                "SELECT $2::jsonb = '{}' OR varel_session.session_set($1, $2::jsonb)",
                patch(before, &session_state),
            ),
            None => (
                "SELECT varel_session.session_set_data($1, $2)",
                document(&session_state),
            ),
        };
        let written = self
            .query(sql, &[&key, &changes])
            .await
            .map_err(UpdateError::Other)?;
        // A session that ended meanwhile stays ended: the request goes on without one, and its
        // cookie names nothing.
        if written[0].get::<_, Option<bool>>(0) != Some(true) {
            return Ok(session_key);
        }
        let (user_before, user_after) = (
            before.as_ref().and_then(|state| self.user_of(state)),
            self.user_of(&session_state),
        );
        let mut current = key;
        if self.user_key.is_some() && before.is_some() && user_before != user_after {
            // Logging in or out rotates the key (against session fixation).
            let rotated: Option<String> = match user_after {
                Some(user_id) => self
                    .query(
                        "SELECT varel_session.session_set_user($1, $2)",
                        &[&current, &user_id],
                    )
                    .await
                    .map_err(UpdateError::Other)?[0]
                    .get(0),
                None => self
                    .query("SELECT varel_session.session_clear_user($1)", &[&current])
                    .await
                    .map_err(UpdateError::Other)?[0]
                    .get(0),
            };
            match rotated {
                Some(token) => current = token,
                None => return Ok(session_key),
            }
        }
        self.loaded.remember(current.clone(), session_state);
        SessionKey::try_from(current).map_err(|error| UpdateError::Other(error.into()))
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        self.query(
            "SELECT varel_session.session_set_max_age($1, $2::text::interval)",
            &[&session_key.as_ref(), &lifetime(ttl)],
        )
        .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        self.loaded.forget(session_key.as_ref().to_owned());
        self.query(
            "SELECT varel_session.session_destroy($1)",
            &[&session_key.as_ref()],
        )
        .await
        .map_err(|error| anyhow!(error))?;
        Ok(())
    }
}

/// The state as the JSON object the extension stores: each value parsed from the JSON text
/// actix-session wrote (a value that is not JSON is kept as a JSON string).
fn document(state: &SessionState) -> Value {
    Value::Object(
        state
            .iter()
            .map(|(key, text)| (key.clone(), parsed(text)))
            .collect(),
    )
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The merge patch from `before` to `after`: the keys whose values changed or appeared, and
/// JSON null for the keys that went away.
fn patch(before: &SessionState, after: &SessionState) -> Value {
    let mut patch = Map::new();
    for (key, text) in after {
        if before.get(key).map(|old| parsed(old)) != Some(parsed(text)) {
            patch.insert(key.clone(), parsed(text));
        }
    }
    for key in before.keys() {
        if !after.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    Value::Object(patch)
}

/// A time-to-live as an interval's text (at least one second: the extension refuses a lifetime
/// that is not positive).
fn lifetime(ttl: &Duration) -> String {
    format!("{} seconds", ttl.whole_seconds().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pairs: &[(&str, &str)]) -> SessionState {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_patch_has_the_changed_keys_and_nulls_for_the_removed_ones() {
        let before = state(&[("a", "1"), ("b", "\"x\""), ("c", "{\"k\":1}")]);
        let after = state(&[
            ("a", "1"),
            ("b", "\"y\""),
            ("c", "{\"k\": 1}"),
            ("d", "true"),
        ]);
        assert_eq!(
            patch(&before, &after),
            serde_json::json!({"b": "y", "d": true})
        );
        assert_eq!(
            patch(&before, &state(&[("a", "1")])),
            serde_json::json!({"b": null, "c": null})
        );
    }

    #[test]
    fn values_round_trip_as_actix_session_reads_them() {
        let state = state(&[("n", "100"), ("s", "\"text\""), ("raw", "not json")]);
        let stored = document(&state);
        assert_eq!(stored["n"], 100);
        assert_eq!(stored["raw"], "not json");
        assert_eq!(
            serde_json::from_str::<usize>(&stored["n"].to_string()).unwrap(),
            100
        );
    }
}
