//! [`PostgresStore`]: the [`SessionStore`] over the varel_session extension's SQL functions.

use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::session::Session;
use crate::sql::{self, Sql};
use crate::store::{SessionStore, UserSession};
use deadpool_postgres::Pool;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

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
            None => {
                let user_id = session.user_id;
                self.create_on(client, session, user_id).await
            }
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

    /// Creates `session` in the store (its data, its [lifetime](Session::set_max_age) and,
    /// when given, its user), recording the client's address and user agent for "your devices"
    /// lists. Gives it its token.
    pub async fn create_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
        user_id: Option<i64>,
    ) -> Result<(), Error> {
        let lifetime = whole_seconds(session.max_age.unwrap_or(self.config.max_age));
        let seconds = lifetime.as_secs_f64();
        let data = Value::Object(session.data.clone());
        let params: [&(dyn ToSql + Sync); 5] = [
            &seconds,
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
        session.expires_at = Some(now + lifetime);
        session.ttl = Some(lifetime);
        session.mark_saved();
        Ok(())
    }

    /// [`SessionStore::delete`] on `client`.
    pub async fn delete_on<C: Connection>(&self, client: &C, id: &str) -> Result<bool, Error> {
        Ok(self.row(client, &sql::DESTROY, &[&id]).await?.get(0))
    }

    /// [`SessionStore::regenerate_id`] on `client`.
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

    /// [`SessionStore::set_user`] on `client`.
    pub async fn set_user_on<C: Connection>(
        &self,
        client: &C,
        session: &mut Session,
        user_id: i64,
        max_age: Option<Duration>,
    ) -> Result<(), Error> {
        if max_age.is_some() {
            session.max_age = max_age;
        }
        let Some(id) = session.id.clone() else {
            return self.create_on(client, session, Some(user_id)).await;
        };
        let max_age = max_age.map(whole_seconds);
        let seconds = max_age.map(|age| age.as_secs_f64());
        let token = self
            .rotate(client, &sql::SET_USER, &[&id, &user_id, &seconds])
            .await?;
        // A log-in slides the idle deadline to now + the session's lifetime.
        // Without a new lifetime the server keeps the session's own, which this process knows
        // when it set it; a session with more time left than the configured lifetime was
        // given a longer one (remember me): at least what it had left.
        let remembered = session.ttl.filter(|ttl| *ttl > self.config.max_age);
        let lifetime = max_age
            .or(session.max_age)
            .or(remembered)
            .unwrap_or(self.config.max_age);
        session.id = Some(token);
        session.user_id = Some(user_id);
        session.expires_at = Some(OffsetDateTime::now_utc() + lifetime);
        session.ttl = Some(lifetime);
        Ok(())
    }

    /// [`SessionStore::clear_user`] on `client`.
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

    /// [`SessionStore::touch`] on `client`.
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

    /// [`SessionStore::handle`] on `client`.
    pub async fn handle_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
    ) -> Result<Option<String>, Error> {
        Ok(self.row(client, &sql::HANDLE, &[&id]).await?.get(0))
    }

    /// [`SessionStore::revoke`] on `client`.
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

    /// [`SessionStore::incr`] on `client`.
    ///
    /// ```no_run
    /// # async fn f(store: varel_session_client::PostgresStore, id: &str) -> Result<(), varel_session_client::Error> {
    /// let client = store.pool().get().await?;
    /// let visits = store.incr_on(&client, id, "visits", 1).await?;
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

    /// [`SessionStore::take`] on `client`.
    pub async fn take_on<C: Connection>(
        &self,
        client: &C,
        id: &str,
        key: &str,
    ) -> Result<Option<Value>, Error> {
        Ok(self.row(client, &sql::TAKE, &[&id, &key]).await?.get(0))
    }

    /// [`SessionStore::push`] on `client`.
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
}

impl SessionStore for PostgresStore {
    fn config(&self) -> &Config {
        &self.config
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, Error> {
        self.load_on(&self.client().await?, id).await
    }

    async fn save(&self, session: &mut Session) -> Result<(), Error> {
        self.save_on(&self.client().await?, session).await
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        self.delete_on(&self.client().await?, id).await
    }

    async fn regenerate_id(&self, session: &mut Session) -> Result<(), Error> {
        self.regenerate_id_on(&self.client().await?, session).await
    }

    async fn set_user(
        &self,
        session: &mut Session,
        user_id: i64,
        max_age: Option<Duration>,
    ) -> Result<(), Error> {
        self.set_user_on(&self.client().await?, session, user_id, max_age)
            .await
    }

    async fn clear_user(&self, session: &mut Session) -> Result<(), Error> {
        self.clear_user_on(&self.client().await?, session).await
    }

    async fn touch(&self, session: &mut Session) -> Result<(), Error> {
        self.touch_on(&self.client().await?, session).await
    }

    async fn incr(&self, id: &str, key: &str, by: i64) -> Result<Option<i64>, Error> {
        self.incr_on(&self.client().await?, id, key, by).await
    }

    async fn take(&self, id: &str, key: &str) -> Result<Option<Value>, Error> {
        self.take_on(&self.client().await?, id, key).await
    }

    async fn push(
        &self,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> Result<Option<i32>, Error> {
        self.push_on(&self.client().await?, id, key, value, max_items)
            .await
    }

    async fn handle(&self, id: &str) -> Result<Option<String>, Error> {
        self.handle_on(&self.client().await?, id).await
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<UserSession>, Error> {
        self.user_sessions_on(&self.client().await?, user_id).await
    }

    async fn revoke(&self, user_id: i64, handle: &str) -> Result<bool, Error> {
        self.revoke_on(&self.client().await?, user_id, handle).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> Result<u64, Error> {
        self.revoke_user_sessions_on(&self.client().await?, user_id, except_id)
            .await
    }

    async fn cleanup(&self) -> Result<u64, Error> {
        self.cleanup_on(&self.client().await?).await
    }
}

/// Whether the load that returned `expires_at` slid it. A slide sets the deadline to exactly
/// `now() + max_age`, with `now()` the transaction's time, which the same query returned, and the
/// client gives every session a lifetime of whole seconds: the time left is then a whole number
/// of seconds, which it is otherwise only by a one-in-a-million chance of the clock (a
/// harmless extra cookie). This holds for a session's own lifetime too ("remember me"), which
/// the load does not return. Through a sharding router (SCALING.md) `now()` is the router's,
/// a little earlier than the node's: a time left just over the configured lifetime counts too.
/// A slide cut short by the absolute deadline is not seen; the session ends then anyway.
fn slid_just_now(expires_at: OffsetDateTime, db_now: OffsetDateTime, max_age: Duration) -> bool {
    let left = expires_at - db_now;
    let exact = left.is_positive() && left.subsec_nanoseconds() == 0;
    exact || (left >= max_age && left < max_age + Duration::from_secs(2))
}

/// A lifetime as the client sends it: whole seconds, at least one (see [`slid_just_now`]).
fn whole_seconds(lifetime: Duration) -> Duration {
    Duration::from_secs(lifetime.as_secs().max(1))
}

fn duration_between(from: OffsetDateTime, to: OffsetDateTime) -> Option<Duration> {
    Duration::try_from(to - from).ok()
}
