//! The session store: the [`SessionStore`] trait, and [`PostgresStore`], its implementation
//! over the varel_session extension's SQL functions.

use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::session::Session;
use crate::sql::{self, Sql};
use deadpool_postgres::Pool;
use serde_json::{Map, Value};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// One of a user's sessions, for a "your devices" page. `handle` names it without revealing
/// its token: pass it to [`PostgresStore::revoke`] to end that session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    /// 16 hex characters naming the session; stable across token rotations.
    pub handle: String,
    /// When the session was created.
    pub created_at: OffsetDateTime,
    /// When its data or user last changed.
    pub updated_at: OffsetDateTime,
    /// Its idle deadline.
    pub expires_at: OffsetDateTime,
    /// Its hard deadline, if the server sets one.
    pub absolute_expires_at: Option<OffsetDateTime>,
    /// The client's address at creation or at the last log-in that recorded one.
    pub ip: Option<IpAddr>,
    /// The client's user agent at creation or at the last log-in that recorded one.
    pub user_agent: Option<String>,
    /// When the session was last used (set by writes and by slides of the idle deadline, so
    /// as fine as the slide); `None` for sessions from before extension version 0.2.0 that
    /// were not used since.
    pub last_seen_at: Option<OffsetDateTime>,
}

/// Where sessions are kept. [`PostgresStore`] is the implementation; the trait lets code (and
/// tests) depend on the operations rather than on PostgreSQL.
pub trait SessionStore: Send + Sync {
    /// The live session named by `id`, sliding its idle deadline when due; `None` when there is
    /// none (including when `id` is not a well-formed token).
    fn load(&self, id: &str) -> impl Future<Output = Result<Option<Session>, Error>> + Send;
    /// Creates the session (giving it a token) or saves its changes as one merge patch.
    /// [`Error::NoSession`] when it ended meanwhile.
    fn save(&self, session: &mut Session) -> impl Future<Output = Result<(), Error>> + Send;
    /// Ends the session; whether there was a live one.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, Error>> + Send;
    /// Deletes expired sessions; how many.
    fn cleanup(&self) -> impl Future<Output = Result<u64, Error>> + Send;
    /// The user's live sessions, newest first.
    fn user_sessions(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<Vec<UserSession>, Error>> + Send;
    /// Ends all of the user's sessions except `except_id`'s; how many ended.
    fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> impl Future<Output = Result<u64, Error>> + Send;
}

/// The PostgreSQL store, over a `deadpool-postgres` pool the application already has.
///
/// Each operation comes in two forms: `op(...)` takes a connection from the pool, and
/// `op_on(&client, ...)` runs on any [`Connection`] (a pooled connection or a transaction), so
/// session writes can join the application's own transaction. Statements are prepared once per
/// connection and reused (deadpool's statement cache); every call is one round trip.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    config: Arc<Config>,
    prepared: bool,
}

impl PostgresStore {
    /// A store over `pool`; fails when `config` does not [validate](Config::validate).
    pub fn new(pool: Pool, config: Config) -> Result<PostgresStore, Error> {
        config.validate()?;
        Ok(PostgresStore {
            pool,
            config: Arc::new(config),
            prepared: true,
        })
    }

    /// Sends every statement unprepared (parse, bind and execute together, one round trip),
    /// for poolers in transaction mode that do not carry prepared statements between server
    /// connections, such as pgbouncer before 1.21 (or later ones without
    /// `max_prepared_statements`). Costs a parse per call.
    pub fn without_prepared_statements(mut self) -> PostgresStore {
        self.prepared = false;
        self
    }

    async fn rows<C: Connection>(
        &self,
        client: &C,
        sql: &Sql,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        Ok(client.run(sql, params, self.prepared).await?)
    }

    async fn row<C: Connection>(
        &self,
        client: &C,
        sql: &Sql,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error> {
        let mut rows = self.rows(client, sql, params).await?;
        Ok(rows.swap_remove(0))
    }

    /// The pool the store takes connections from.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The session and cookie settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, Error> {
        Ok(self.pool.get().await?)
    }

    /// [`SessionStore::load`] on `client`.
    pub async fn load_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
    ) -> Result<Option<Session>, Error> {
        let rows = self.rows(client, &sql::LOAD, &[&id]).await?;
        Ok(rows.first().map(|row| self.session_from_row(id, row)))
    }

    fn session_from_row(&self, id: &str, row: &Row) -> Session {
        let data = match row.get::<_, Value>(0) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let expires_at: OffsetDateTime = row.get(4);
        let db_now: OffsetDateTime = row.get(5);
        Session {
            id: Some(id.to_owned()),
            data,
            user_id: row.get(1),
            created_at: Some(row.get(2)),
            updated_at: Some(row.get(3)),
            expires_at: Some(expires_at),
            refreshed: slid_just_now(expires_at, db_now, self.config.max_age),
            ttl: duration_between(db_now, expires_at),
            ..Session::default()
        }
    }

    /// [`SessionStore::save`] on `client`.
    pub async fn save_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
    ) -> Result<(), Error> {
        match session.id.clone() {
            None => self.create_on(client, session, None).await,
            Some(id) => {
                if session.cleared {
                    self.expect_live(client, &sql::CLEAR, &[&id]).await?;
                }
                if let Some(patch) = session.patch() {
                    self.expect_live(client, &sql::SET, &[&id, &patch]).await?;
                }
                session.mark_saved();
                Ok(())
            }
        }
    }

    /// Creates `session` in the store (its data and, when set, its user), recording the
    /// client's address and user agent for "your devices" lists. Gives it its token.
    pub async fn create_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
        user_id: Option<i64>,
    ) -> Result<(), Error> {
        let max_age = self.config.max_age.as_secs_f64();
        let data = Value::Object(session.data.clone());
        let user_id = user_id.or(session.user_id);
        let params: [&(dyn ToSql + Sync); 5] = [
            &max_age,
            &user_id,
            &data,
            &session.client_ip,
            &session.client_agent,
        ];
        let token: String = self.row(client, &sql::NEW, &params).await?.get(0);
        let now = OffsetDateTime::now_utc();
        session.id = Some(token);
        session.user_id = user_id;
        session.created_at = Some(now);
        session.updated_at = Some(now);
        session.expires_at = Some(now + self.config.max_age);
        session.ttl = Some(self.config.max_age);
        session.mark_saved();
        Ok(())
    }

    /// [`SessionStore::delete`] on `client`.
    pub async fn delete_on<C: Connection>(&self, client: &C, id: &str) -> Result<bool, Error> {
        Ok(self.row(client, &sql::DESTROY, &[&id]).await?.get(0))
    }

    /// Gives the session a new token (same data, user and times); the old token stops
    /// working. [`Error::NoSession`] when it is not live.
    pub async fn regenerate_id_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
    ) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let token = self.rotate(client, &sql::REGENERATE, &[&id]).await?;
        session.id = Some(token);
        Ok(())
    }

    /// Logs `user_id` in: sets the user and rotates the token (against session fixation). A
    /// session not yet in the store is created for the user.
    pub async fn set_user_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
        user_id: i64,
    ) -> Result<(), Error> {
        let Some(id) = session.id.clone() else {
            return self.create_on(client, session, Some(user_id)).await;
        };
        let token = self
            .rotate(client, &sql::SET_USER, &[&id, &user_id])
            .await?;
        session.id = Some(token);
        session.user_id = Some(user_id);
        session.ttl = Some(self.config.max_age);
        Ok(())
    }

    /// Logs the user out but keeps the session and its data; rotates the token.
    pub async fn clear_user_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
    ) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let token = self.rotate(client, &sql::CLEAR_USER, &[&id]).await?;
        session.id = Some(token);
        session.user_id = None;
        Ok(())
    }

    /// Slides the idle deadline now, without `session_load`'s throttle.
    pub async fn touch_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
    ) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let deadline: Option<OffsetDateTime> = self.row(client, &sql::TOUCH, &[&id]).await?.get(0);
        session.expires_at = Some(deadline.ok_or(Error::NoSession)?);
        Ok(())
    }

    /// The handle of the session named by `id` (to mark "this device" in
    /// [`user_sessions`](SessionStore::user_sessions)); `None` when it is not live.
    pub async fn handle_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
    ) -> Result<Option<String>, Error> {
        Ok(self.row(client, &sql::HANDLE, &[&id]).await?.get(0))
    }

    /// Ends one of the user's sessions by handle ("log out that device").
    pub async fn revoke_on<C: Connection>(
        &self,
        client: &C,
        user_id: i64,
        handle: &str,
    ) -> Result<bool, Error> {
        Ok(self
            .row(client, &sql::REVOKE, &[&user_id, &handle])
            .await?
            .get(0))
    }

    /// [`SessionStore::cleanup`] on `client`.
    pub async fn cleanup_on<C: Connection>(&self, client: &C) -> Result<u64, Error> {
        Ok(self.row(client, &sql::CLEANUP, &[]).await?.get::<_, i64>(0) as u64)
    }

    /// [`SessionStore::user_sessions`] on `client`.
    pub async fn user_sessions_on<C: Connection>(
        &self,
        client: &C,
        user_id: i64,
    ) -> Result<Vec<UserSession>, Error> {
        let rows = self.rows(client, &sql::USER_SESSIONS, &[&user_id]).await?;
        Ok(rows
            .iter()
            .map(|row| UserSession {
                handle: row.get(0),
                created_at: row.get(1),
                updated_at: row.get(2),
                expires_at: row.get(3),
                absolute_expires_at: row.get(4),
                ip: row.get(5),
                user_agent: row.get(6),
                last_seen_at: row.get(7),
            })
            .collect())
    }

    /// Adds `by` to the integer under `key` of the live session named by `id`, atomically on
    /// the server (concurrent requests never lose an increment), and returns the new value;
    /// `None` when there is no live session. A missing key counts as 0.
    ///
    /// ```no_run
    /// # async fn f(store: varel_session_client::PostgresStore, id: &str) -> Result<(), varel_session_client::Error> {
    /// let visits = store.incr(id, "visits", 1).await?;
    /// # Ok(()) }
    /// ```
    pub async fn incr_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
        key: &str,
        by: i64,
    ) -> Result<Option<i64>, Error> {
        Ok(self
            .row(client, &sql::INCR, &[&id, &key, &by])
            .await?
            .get(0))
    }

    /// Returns the value under `key` and removes it in the same update: a value read exactly
    /// once (a flash message, a one-time nonce). `None` when there is no such key or session.
    pub async fn take_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
        key: &str,
    ) -> Result<Option<Value>, Error> {
        Ok(self.row(client, &sql::TAKE, &[&id, &key]).await?.get(0))
    }

    /// Appends `value` to the array under `key` (creating it), keeping the newest `max_items`
    /// when given; returns the new length, or `None` when there is no live session.
    pub async fn push_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> Result<Option<i32>, Error> {
        Ok(self
            .row(client, &sql::PUSH, &[&id, &key, value, &max_items])
            .await?
            .get(0))
    }

    /// [`SessionStore::revoke_user_sessions`] on `client`.
    pub async fn revoke_user_sessions_on<C: Connection>(
        &self,
        client: &C,
        user_id: i64,
        except_id: Option<&str>,
    ) -> Result<u64, Error> {
        let ended: i64 = self
            .row(client, &sql::USER_REVOKE, &[&user_id, &except_id])
            .await?
            .get(0);
        Ok(ended as u64)
    }

    async fn rotate<C: Connection>(
        &self,
        client: &C,
        sql: &Sql,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<String, Error> {
        let row = self.row(client, sql, params).await?;
        row.get::<_, Option<String>>(0).ok_or(Error::NoSession)
    }

    async fn expect_live<C: Connection>(
        &self,
        client: &C,
        sql: &Sql,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(), Error> {
        match self.row(client, sql, params).await?.get::<_, bool>(0) {
            true => Ok(()),
            false => Err(Error::NoSession),
        }
    }

    // Pooled forms of the operations above.

    /// [`regenerate_id_on`](Self::regenerate_id_on) on a pooled connection.
    pub async fn regenerate_id(&self, session: &mut Session) -> Result<(), Error> {
        self.regenerate_id_on(&self.client().await?, session).await
    }

    /// [`set_user_on`](Self::set_user_on) on a pooled connection.
    pub async fn set_user(&self, session: &mut Session, user_id: i64) -> Result<(), Error> {
        self.set_user_on(&self.client().await?, session, user_id)
            .await
    }

    /// [`clear_user_on`](Self::clear_user_on) on a pooled connection.
    pub async fn clear_user(&self, session: &mut Session) -> Result<(), Error> {
        self.clear_user_on(&self.client().await?, session).await
    }

    /// [`touch_on`](Self::touch_on) on a pooled connection.
    pub async fn touch(&self, session: &mut Session) -> Result<(), Error> {
        self.touch_on(&self.client().await?, session).await
    }

    /// [`handle_on`](Self::handle_on) on a pooled connection.
    pub async fn handle(&self, id: &str) -> Result<Option<String>, Error> {
        self.handle_on(&self.client().await?, id).await
    }

    /// [`revoke_on`](Self::revoke_on) on a pooled connection.
    pub async fn revoke(&self, user_id: i64, handle: &str) -> Result<bool, Error> {
        self.revoke_on(&self.client().await?, user_id, handle).await
    }

    /// [`incr_on`](Self::incr_on) on a pooled connection.
    pub async fn incr(&self, id: &str, key: &str, by: i64) -> Result<Option<i64>, Error> {
        self.incr_on(&self.client().await?, id, key, by).await
    }

    /// [`take_on`](Self::take_on) on a pooled connection.
    pub async fn take(&self, id: &str, key: &str) -> Result<Option<Value>, Error> {
        self.take_on(&self.client().await?, id, key).await
    }

    /// [`push_on`](Self::push_on) on a pooled connection.
    pub async fn push(
        &self,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> Result<Option<i32>, Error> {
        self.push_on(&self.client().await?, id, key, value, max_items)
            .await
    }
}

impl SessionStore for PostgresStore {
    async fn load(&self, id: &str) -> Result<Option<Session>, Error> {
        self.load_on(&self.client().await?, id).await
    }

    async fn save(&self, session: &mut Session) -> Result<(), Error> {
        self.save_on(&self.client().await?, session).await
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        self.delete_on(&self.client().await?, id).await
    }

    async fn cleanup(&self) -> Result<u64, Error> {
        self.cleanup_on(&self.client().await?).await
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<UserSession>, Error> {
        self.user_sessions_on(&self.client().await?, user_id).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> Result<u64, Error> {
        self.revoke_user_sessions_on(&self.client().await?, user_id, except_id)
            .await
    }
}

/// Whether the load that returned `expires_at` slid it: a slide sets the deadline to exactly
/// `now() + max_age`, with `now()` the transaction's time, which the same query returned.
fn slid_just_now(expires_at: OffsetDateTime, db_now: OffsetDateTime, max_age: Duration) -> bool {
    expires_at - db_now >= max_age
}

fn duration_between(from: OffsetDateTime, to: OffsetDateTime) -> Option<Duration> {
    Duration::try_from(to - from).ok()
}
