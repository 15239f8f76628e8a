//! Moving from tower-sessions-sqlx-store (docs/moving.md): [`import_sqlx_store`] copies its
//! sessions into the extension; with [`VarelStore::with_imported_from`] and
//! [`ClaimImportedLayer`] inside the session layer, the first request with an old cookie gets its
//! session under a new id.
//!
//! ```no_run
//! # use varel_session_tower_sessions::{moving, ClaimImportedLayer, VarelStore};
//! # use tower_sessions::SessionManagerLayer;
//! # fn app(pool: deadpool_postgres::Pool) -> axum::Router {
//! let store = VarelStore::new(pool).with_imported_from(moving::SQLX_STORE);
//! axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hi" }))
//!     .layer(ClaimImportedLayer)
//!     .layer(SessionManagerLayer::new(store))
//! # }
//! ```

use crate::{backend, lifetime, object, VarelStore};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::Result;
use tower_sessions_core::Session;

/// The name imports from tower-sessions-sqlx-store's `PostgresStore` go by.
pub const SQLX_STORE: &str = "tower-sessions-sqlx-store";

/// The session value a claimed session carries until [`ClaimImportedLayer`] renews its id; never
/// stored.
const CLAIMED_KEY: &str = "varel_session.claimed";

impl VarelStore {
    /// The session imported under `old_id`, claimed under a new id (the old one is dead from
    /// then on), marked for [`ClaimImportedLayer`]; None when there is none.
    pub(crate) async fn claim(&self, old_id: &str) -> Result<Option<Record>> {
        let Some(store) = &self.imported_from else {
            return Ok(None);
        };
        let new_id = Id::default();
        let rows = self
            .query(
                "SELECT data, expires_at FROM varel_session.session_claim($1, $2, new_id => $3)",
                &[store, &old_id, &new_id.to_string()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let mut data = object(row.get(0));
        data.insert(CLAIMED_KEY.to_owned(), Value::Bool(true));
        Ok(Some(Record {
            id: new_id,
            data,
            expiry_date: row.get(1),
        }))
    }
}

/// Renews the id of a session claimed from an imported store, before the handler runs:
/// tower-sessions keeps the id the cookie named, so the layer cycles it (`cycle_id`), and the
/// session layer then stores the session under the new id and sends its cookie. Put it inside
/// the `SessionManagerLayer` (`.layer(ClaimImportedLayer).layer(SessionManagerLayer::new(...))`).
/// It loads the session of each request that has one.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClaimImportedLayer;

impl<S> tower_layer::Layer<S> for ClaimImportedLayer {
    type Service = ClaimImported<S>;

    fn layer(&self, inner: S) -> ClaimImported<S> {
        ClaimImported { inner }
    }
}

/// The service of [`ClaimImportedLayer`].
#[derive(Clone, Debug)]
pub struct ClaimImported<S> {
    inner: S,
}

impl<S, B> tower_service::Service<http::Request<B>> for ClaimImported<S>
where
    S: tower_service::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Some(session) = request.extensions().get::<Session>().cloned() {
                // Looked at before it is removed: remove_value marks the session modified even
                // when the key is absent, which would save every session on every request. The
                // look loads the record the handler's first read would load anyway. A store
                // error leaves the session as it is: the handler sees it, unrenewed.
                if let Ok(Some(_)) = session.get_value(CLAIMED_KEY).await {
                    if let Ok(Some(_)) = session.remove_value(CLAIMED_KEY).await {
                        let _ = session.cycle_id().await;
                    }
                }
            }
            inner.call(request).await
        })
    }
}

/// What tower-sessions-sqlx-store's `PostgresStore` is configured with, and where its sessions
/// keep the user's id.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// `with_schema_name`'s (default "tower_sessions").
    pub schema: String,
    /// `with_table_name`'s (default "session").
    pub table: String,
    /// The session value holding the user's id (an integer), as in [`VarelStore::with_user_key`].
    pub user_key: Option<String>,
    /// Old cookies are accepted until then; None: each session's own expiry.
    pub accept_until: Option<OffsetDateTime>,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            schema: "tower_sessions".into(),
            table: "session".into(),
            user_key: None,
            accept_until: None,
        }
    }
}

/// What a run did: sessions imported, skipped (records that do not decode), and ended (no
/// longer in the old table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportResult {
    /// Sessions stored (or refreshed) for a claim.
    pub imported: u64,
    /// Records that did not decode.
    pub skipped: u64,
    /// Sessions of an earlier run the old table no longer holds.
    pub ended: i64,
}

/// Copies the live sessions of tower-sessions-sqlx-store's `PostgresStore` into the extension
/// (docs/moving.md): each record's data and expiry, and its user (`user_key`), under a hash of
/// its old id. It runs against the live database while the old store keeps serving, and may run
/// again: a re-run refreshes what changed and ends what the old table no longer holds (a log-out
/// there). `owner` must connect as the extension's owner (the application's role gets
/// "permission denied").
pub async fn import_sqlx_store(
    owner: &tokio_postgres::Client,
    options: &ImportOptions,
) -> Result<ImportResult> {
    let plain = |name: &str| {
        !name.is_empty()
            && name.len() < 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if !plain(&options.schema) || !plain(&options.table) {
        return Err(backend("the schema and table must be plain names"));
    }
    let read = owner
        .prepare(&format!(
            r#"SELECT id, data, expiry_date FROM "{}"."{}"
               WHERE id > $1 AND expiry_date > now() ORDER BY id LIMIT 500"#,
            options.schema, options.table
        ))
        .await
        .map_err(backend)?;
    let started: OffsetDateTime = owner
        .query_one("SELECT statement_timestamp()", &[])
        .await
        .map_err(backend)?
        .get(0);
    let mut result = ImportResult::default();
    let mut last = String::new();
    loop {
        let rows = owner.query(&read, &[&last]).await.map_err(backend)?;
        let Some(row) = rows.last() else { break };
        last = row.get(0);
        for row in &rows {
            let Ok(record) = rmp_serde::from_slice::<Record>(row.get(1)) else {
                result.skipped += 1;
                continue;
            };
            let expiry: OffsetDateTime = row.get(2);
            let user_id = options
                .user_key
                .as_ref()
                .and_then(|key| record.data.get(key))
                .and_then(Value::as_i64);
            let data = Value::Object(record.data.into_iter().collect());
            let stored: bool = owner
                .query_one(
                    "SELECT varel_session.session_import($1, $2, $3, $4, $5, $6, $7::text::interval)",
                    &[
                        &SQLX_STORE,
                        &row.get::<_, String>(0),
                        &data,
                        &expiry,
                        &user_id,
                        &options.accept_until,
                        &lifetime(expiry),
                    ],
                )
                .await
                .map_err(backend)?
                .get(0);
            result.imported += u64::from(stored);
        }
    }
    result.ended = owner
        .query_one(
            "SELECT varel_session.session_import_prune($1, $2)",
            &[&SQLX_STORE, &started],
        )
        .await
        .map_err(backend)?
        .get(0);
    Ok(result)
}
