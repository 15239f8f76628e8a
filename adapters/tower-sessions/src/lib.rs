//! A [tower-sessions](https://docs.rs/tower-sessions) [`SessionStore`] on the varel_session
//! PostgreSQL extension: `SessionManagerLayer::new(VarelStore::new(pool))`, and every
//! tower-sessions app (axum-login's too) keeps its handlers.
//!
//! - **Ids**: tower-sessions mints a session's id itself (128 bits from `rand`'s CSPRNG, 22
//!   URL-safe base64 characters in the cookie), before the store sees it. The store creates the
//!   session under that id with `session_adopt` (a *framework id*), so only its hash is stored;
//!   should one ever be stored already, it draws another.
//! - **Saves**: tower-sessions hands the store the whole record. The store writes only the keys
//!   whose values differ from what this request loaded, as one merge patch, so concurrent
//!   requests of one browser that change different keys both land; see [`VarelStore`] for how
//!   it knows what a request loaded, and what tower-sessions' design still limits.
//! - **Nothing revived**: a save of a session that ended meanwhile (logged out elsewhere,
//!   revoked, expired) writes nothing, and the next request has no session.
//! - **Deadlines**: `session_load` slides the idle deadline on the server (at most once per fifth
//!   of the lifetime); a save changes the lifetime only when the record's expiry differs from
//!   the stored one by more than that throttle allows, so "remember me" (`set_expiry`) is kept.
//! - [`ExpiredDeletion`] runs the extension's batched cleanup.
//! - **Moving from tower-sessions-sqlx-store** ([`moving`]): its sessions are imported, and the
//!   first request with an old cookie gets its session under a new id.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use async_trait::async_trait;
use deadpool_postgres::Pool;
use serde_json::{Map, Value};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use tokio_postgres::types::ToSql;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{Error, ExpiredDeletion, Result};
use tower_sessions_core::SessionStore;
use varel_session_adapter_support::LoadedVersions;

pub mod moving;
pub use moving::{ClaimImportedLayer, ImportOptions, ImportResult};

/// The tower-sessions store over a `deadpool-postgres` pool of a database with the extension
/// (`CREATE EXTENSION varel_session`, or the SQL edition), whose role has the API's two grants.
///
/// **What a request loaded.** A save compares the record with the version the same request
/// loaded. tower-sessions gives the store no handle on the request, so the store remembers
/// each loaded version under the session's id and the tokio task that loaded it: hyper runs a
/// request's handler and the session layer's save in one task (HTTP/1 connections serve their
/// requests one after another in one task, HTTP/2 streams get a task each). Versions unsaved
/// after five minutes are forgotten.
///
/// **What tower-sessions' design still limits.** When a save finds no version its task loaded
/// (the handler moved the session to a task of its own and saved it there, or the request took
/// more than five minutes), it replaces all of the session's data with the record, as
/// tower-sessions' own stores always do: a concurrent request's change of another key can then
/// be lost. Two requests that change the *same* key race as in any whole-value store; the
/// extension's atomic operations (`session_incr` and the others) are reachable through the
/// pool for counters. Deleting a session and rotating its id (`cycle_id`) are two calls, as
/// tower-sessions makes them (delete the old id, create the new one), so a rotation gives the
/// session a new handle in "your devices" listings.
#[derive(Clone, Debug)]
pub struct VarelStore {
    pool: Pool,
    loaded: LoadedVersions<Id, Record>,
    user_key: Option<String>,
    imported_from: Option<String>,
}

impl VarelStore {
    /// A store over `pool`.
    pub fn new(pool: Pool) -> VarelStore {
        VarelStore {
            pool,
            loaded: LoadedVersions::default(),
            user_key: None,
            imported_from: None,
        }
    }

    /// While sessions imported from another store are taken over
    /// ([`moving::SQLX_STORE`], with [`ClaimImportedLayer`] inside the session layer): an id
    /// that names no session here is looked up among the imported sessions once, and its
    /// session continues under a new id.
    pub fn with_imported_from(mut self, store: impl Into<String>) -> VarelStore {
        self.imported_from = Some(store.into());
        self
    }

    /// Records the integer under `key` in the session's data as the session's user, so that
    /// the extension's per-user functions (a user's sessions, log out everywhere, the cap of
    /// `varel_session.max_sessions_per_user`) see it. The user is recorded when the session is
    /// created, which tower-sessions does again after `cycle_id()`: set the key and cycle the
    /// id together at log-in, as axum-login does.
    pub fn with_user_key(mut self, key: impl Into<String>) -> VarelStore {
        self.user_key = Some(key.into());
        self
    }

    /// The pool the store takes connections from (for the extension's other functions).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The CSRF token of the session with id `id` (the extension's `session_csrf_token`): 64
    /// hex characters derived from the id, so nothing is stored and the token changes with
    /// every new id (`cycle_id()` at log-in); `None` when the session is not live. Pass
    /// `session.id()` once the session is saved (a new session has no id before).
    pub async fn csrf_token(&self, id: &Id) -> Result<Option<String>> {
        let rows = self
            .query(
                "SELECT varel_session.session_csrf_token($1)",
                &[&id.to_string()],
            )
            .await?;
        Ok(rows.first().and_then(|row| row.get(0)))
    }

    /// Whether `candidate` (what the form or header sent) is the CSRF token of the live
    /// session with id `id`, compared in constant time by the extension
    /// (`session_csrf_verify`); false for an ended session, or without an id (refuse the
    /// request then).
    pub async fn verify_csrf(&self, id: Option<&Id>, candidate: &str) -> Result<bool> {
        let Some(id) = id else {
            return Ok(false);
        };
        let rows = self
            .query(
                "SELECT varel_session.session_csrf_verify($1, $2)",
                &[&id.to_string(), &candidate],
            )
            .await?;
        Ok(rows.first().is_some_and(|row| row.get(0)))
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.pool.get().await.map_err(backend)?;
        let statement = client.prepare_cached(sql).await.map_err(backend)?;
        client.query(&statement, params).await.map_err(backend)
    }
}

#[async_trait]
impl SessionStore for VarelStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let data = Value::Object(record.data.clone().into_iter().collect());
        let max_age = lifetime(record.expiry_date);
        let user_id: Option<i64> = self
            .user_key
            .as_ref()
            .and_then(|key| record.data.get(key))
            .and_then(Value::as_i64);
        loop {
            let id = record.id.to_string();
            let rows = self
                .query(
                    "SELECT varel_session.session_adopt($1, max_age => $2::text::interval,
                                                        user_id => $3, data => $4)",
                    &[&id, &max_age, &user_id, &data],
                )
                .await?;
            if rows[0].get::<_, bool>(0) {
                return Ok(());
            }
            // Another session has this id (128 random bits: practically never).
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let id = record.id.to_string();
        let loaded = self.loaded.take(record.id);
        let max_age = match &loaded {
            Some(before) if !lifetime_changed(before.expiry_date, record.expiry_date) => None,
            Some(_) | None => Some(lifetime(record.expiry_date)),
        };
        // One statement, one round trip: the data (a patch against what this request loaded,
        // or all of it when the store does not know that), and the lifetime if it changed.
        // Each call changes only a live session, so a session that ended stays ended.
        let rows = match &loaded {
            Some(before) => {
                let patch = patch(&before.data, &record.data);
                self.query(
                    "SELECT ($2::jsonb = '{}' OR varel_session.session_set($1, $2::jsonb))
                        AND ($3::text IS NULL
                             OR varel_session.session_set_max_age($1, $3::text::interval) IS NOT NULL)",
                    &[&id, &patch, &max_age],
                )
                .await?
            }
            None => {
                let data = Value::Object(record.data.clone().into_iter().collect());
                self.query(
                    "SELECT varel_session.session_set_data($1, $2)
                        AND ($3::text IS NULL
                             OR varel_session.session_set_max_age($1, $3::text::interval) IS NOT NULL)",
                    &[&id, &data, &max_age],
                )
                .await?
            }
        };
        // A session that ended meanwhile (`false`) is not saved, and that is not an error of
        // the request's: it just has no session any more.
        if rows[0].get::<_, Option<bool>>(0) == Some(true) {
            self.loaded.remember(record.id, record.clone());
        }
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> Result<Option<Record>> {
        let id = session_id.to_string();
        let rows = self
            .query(
                "SELECT data, expires_at FROM varel_session.session_load($1)",
                &[&id],
            )
            .await?;
        let Some(row) = rows.first() else {
            return self.claim(&id).await;
        };
        let record = Record {
            id: *session_id,
            data: object(row.get(0)),
            expiry_date: row.get(1),
        };
        self.loaded.remember(record.id, record.clone());
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> Result<()> {
        self.loaded.forget(*session_id);
        self.query(
            "SELECT varel_session.session_destroy($1)",
            &[&session_id.to_string()],
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for VarelStore {
    async fn delete_expired(&self) -> Result<()> {
        self.query("SELECT varel_session.session_cleanup()", &[])
            .await?;
        Ok(())
    }
}

/// A JSON object's members (anything else: none).
fn object(value: Value) -> HashMap<String, Value> {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => HashMap::new(),
    }
}

/// The merge patch from `before` to `after`: the keys whose values changed or appeared, and
/// JSON null for the keys that went away.
fn patch(before: &HashMap<String, Value>, after: &HashMap<String, Value>) -> Value {
    let mut patch = Map::new();
    for (key, value) in after {
        if before.get(key) != Some(value) {
            patch.insert(key.clone(), value.clone());
        }
    }
    for key in before.keys() {
        if !after.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    Value::Object(patch)
}

/// The idle lifetime a record's expiry asks for, as an interval's text (at least one second:
/// the extension refuses a lifetime that is not positive).
fn lifetime(expiry_date: OffsetDateTime) -> String {
    let seconds = (expiry_date - OffsetDateTime::now_utc())
        .whole_seconds()
        .max(1);
    format!("{seconds} seconds")
}

/// Whether the app changed the session's lifetime (`set_expiry`), rather than time passing: the
/// stored idle deadline slides at most once per fifth of the lifetime, so an expiry within a
/// fifth of the lifetime of the stored one is the same lifetime.
fn lifetime_changed(stored: OffsetDateTime, asked: OffsetDateTime) -> bool {
    let remaining = asked - OffsetDateTime::now_utc();
    let tolerance: Duration = (remaining / 5_i32).max(Duration::SECOND);
    (asked - stored).abs() > tolerance
}

/// A database error as tower-sessions' backend error; its text never holds a session id (the
/// extension's errors never contain one, and the store sends ids only as parameters).
fn backend(error: impl std::fmt::Display) -> Error {
    Error::Backend(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(value: Value) -> HashMap<String, Value> {
        match value {
            Value::Object(map) => map.into_iter().collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_patch_has_the_changed_keys_and_nulls_for_the_removed_ones() {
        let before = data(json!({"a": 1, "b": 2, "c": {"x": 1}}));
        let after = data(json!({"a": 1, "b": 3, "c": {"x": 1}, "d": true}));
        assert_eq!(patch(&before, &after), json!({"b": 3, "d": true}));
        let after = data(json!({"a": 1}));
        assert_eq!(patch(&before, &after), json!({"b": null, "c": null}));
        assert_eq!(patch(&before, &before), json!({}));
    }

    #[test]
    fn time_passing_is_not_a_new_lifetime_but_set_expiry_is() {
        let now = OffsetDateTime::now_utc();
        let hour = Duration::hours(1);
        // The stored deadline slid 10 minutes ago: within a fifth of an hour.
        assert!(!lifetime_changed(
            now + hour - Duration::minutes(10),
            now + hour
        ));
        // "Remember me": a month instead of an hour; or a shorter one.
        assert!(lifetime_changed(now + hour, now + Duration::days(30)));
        assert!(lifetime_changed(now + hour, now + Duration::minutes(5)));
    }
}
