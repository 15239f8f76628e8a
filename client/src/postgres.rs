//! [`PostgresStore`]: the [`SessionStore`] over the varel_session extension's SQL functions, and
//! [`OnConnection`], the same operations on one connection the application holds.

use crate::auth::AuthContext;
use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::session::Session;
use crate::sql::{self, Sql};
use crate::store::{IdpLogin, SessionStore, UserSession};
use deadpool_postgres::Pool;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// The PostgreSQL store, over a `deadpool-postgres` pool the application already has.
///
/// Its [`SessionStore`] operations each take a connection from the pool for the call;
/// [`on`](Self::on) gives the same operations on a connection the application holds, or inside
/// its transaction. Statements are prepared once per connection and reused (deadpool's
/// statement cache); each is one round trip.
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

    /// The pool the store takes connections from.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The session and cookie settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store's operations on `connection`, a pooled `deadpool_postgres::Client` or a
    /// `deadpool_postgres::Transaction` on one: a [`SessionStore`] that sends every statement
    /// there instead of taking a connection from the pool. In a transaction, the session's
    /// writes commit or roll back with the application's own.
    ///
    /// ```no_run
    /// use varel_session_client::{PostgresStore, SessionStore};
    ///
    /// # async fn checkout(store: PostgresStore, token: &str, user_id: i64) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut client = store.pool().get().await?;
    /// let tx = client.transaction().await?;
    /// let sessions = store.on(&tx);
    /// let mut session = sessions.load(token).await?.ok_or("no session")?;
    /// let cart = session.delete("cart");
    /// tx.execute("INSERT INTO orders (user_id, cart) VALUES ($1, $2)", &[&user_id, &cart])
    ///     .await?;
    /// sessions.save(&mut session).await?; // the cart empties if and only if the order commits
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn on<'a, C: Connection>(&'a self, connection: &'a C) -> OnConnection<'a, C> {
        OnConnection {
            store: self,
            connection,
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, Error> {
        Ok(self.pool.get().await?)
    }
}

// Each call holds its pooled connection only while it runs.
impl SessionStore for PostgresStore {
    fn config(&self) -> &Config {
        &self.config
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, Error> {
        self.on(&self.client().await?).load(id).await
    }

    async fn save(&self, session: &mut Session) -> Result<(), Error> {
        self.on(&self.client().await?).save(session).await
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        self.on(&self.client().await?).delete(id).await
    }

    async fn regenerate_id(&self, session: &mut Session) -> Result<(), Error> {
        self.on(&self.client().await?).regenerate_id(session).await
    }

    async fn set_user_with_context(
        &self,
        session: &mut Session,
        user_id: i64,
        max_age: Option<Duration>,
        auth: &AuthContext,
    ) -> Result<(), Error> {
        self.on(&self.client().await?)
            .set_user_with_context(session, user_id, max_age, auth)
            .await
    }

    async fn reauthenticate(&self, session: &mut Session, auth: &AuthContext) -> Result<(), Error> {
        self.on(&self.client().await?)
            .reauthenticate(session, auth)
            .await
    }

    async fn auth_recent(&self, id: &str, within: Duration, min_aal: u8) -> Result<bool, Error> {
        self.on(&self.client().await?)
            .auth_recent(id, within, min_aal)
            .await
    }

    async fn clear_user(&self, session: &mut Session) -> Result<(), Error> {
        self.on(&self.client().await?).clear_user(session).await
    }

    async fn touch(&self, session: &mut Session) -> Result<(), Error> {
        self.on(&self.client().await?).touch(session).await
    }

    async fn incr(&self, id: &str, key: &str, by: i64) -> Result<Option<i64>, Error> {
        self.on(&self.client().await?).incr(id, key, by).await
    }

    async fn take(&self, id: &str, key: &str) -> Result<Option<Value>, Error> {
        self.on(&self.client().await?).take(id, key).await
    }

    async fn push(
        &self,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> Result<Option<i32>, Error> {
        self.on(&self.client().await?)
            .push(id, key, value, max_items)
            .await
    }

    async fn handle(&self, id: &str) -> Result<Option<String>, Error> {
        self.on(&self.client().await?).handle(id).await
    }

    async fn csrf_token(&self, id: &str) -> Result<Option<String>, Error> {
        self.on(&self.client().await?).csrf_token(id).await
    }

    async fn set_idp(&self, id: &str, login: &IdpLogin) -> Result<bool, Error> {
        self.on(&self.client().await?).set_idp(id, login).await
    }

    async fn revoke_idp(
        &self,
        iss: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<u64, Error> {
        self.on(&self.client().await?)
            .revoke_idp(iss, sid, sub)
            .await
    }

    async fn verify_csrf(&self, id: &str, candidate: &str) -> Result<bool, Error> {
        self.on(&self.client().await?)
            .verify_csrf(id, candidate)
            .await
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<UserSession>, Error> {
        self.on(&self.client().await?).user_sessions(user_id).await
    }

    async fn revoke(&self, user_id: i64, handle: &str) -> Result<bool, Error> {
        self.on(&self.client().await?).revoke(user_id, handle).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> Result<u64, Error> {
        self.on(&self.client().await?)
            .revoke_user_sessions(user_id, except_id)
            .await
    }

    async fn cleanup(&self) -> Result<u64, Error> {
        self.on(&self.client().await?).cleanup().await
    }
}

/// A [`PostgresStore`] on one connection, made by [`PostgresStore::on`]: a [`SessionStore`]
/// that runs every operation on that connection (a pooled client the application holds, or its
/// transaction), with the store's settings.
///
/// It only borrows the store and the connection, so it is `Copy`, and lives as long as they
/// do: it is not `'static`, so it cannot be given to the axum layer, whose services outlive any
/// one connection.
pub struct OnConnection<'a, C> {
    store: &'a PostgresStore,
    connection: &'a C,
}

// By hand: derived, they would ask `C: Clone`, which a transaction is not; the view copies
// references only.
impl<C> Clone for OnConnection<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for OnConnection<'_, C> {}

impl<C: Connection> OnConnection<'_, C> {
    async fn rows(&self, sql: &Sql, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        Ok(self
            .connection
            .run(sql, params, self.store.prepared)
            .await?)
    }

    async fn row(&self, sql: &Sql, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        let mut rows = self.rows(sql, params).await?;
        Ok(rows.swap_remove(0))
    }

    /// A rotation's new token; [`Error::NoSession`] when the session was not live.
    async fn rotate(&self, sql: &Sql, params: &[&(dyn ToSql + Sync)]) -> Result<String, Error> {
        let row = self.row(sql, params).await?;
        row.get::<_, Option<String>>(0).ok_or(Error::NoSession)
    }

    /// Runs a write that says whether the session was live; [`Error::NoSession`] when not.
    async fn expect_live(&self, sql: &Sql, params: &[&(dyn ToSql + Sync)]) -> Result<(), Error> {
        match self.row(sql, params).await?.get::<_, bool>(0) {
            true => Ok(()),
            false => Err(Error::NoSession),
        }
    }

    /// Creates `session` in the store (its data, its [lifetime](Session::set_max_age) and,
    /// when given, its user), recording the client's address and user agent for "your devices"
    /// lists. Gives it its token. Both `save` of a new session and `set_user` of one not yet
    /// stored come here.
    async fn create(&self, session: &mut Session, user_id: Option<i64>) -> Result<(), Error> {
        let (lifetime, data) = self.new_session(session);
        let seconds = lifetime.as_secs_f64();
        let params: [&(dyn ToSql + Sync); 5] = [
            &seconds,
            &user_id,
            &data,
            &session.client_ip,
            &session.client_agent,
        ];
        let token: String = self.row(&sql::NEW, &params).await?.get(0);
        created(session, token, user_id, lifetime);
        Ok(())
    }

    /// Creates `session` in the store logged in as `user_id`, as [`create`](Self::create) and
    /// a log-in with `auth` would, in one statement.
    async fn create_logged_in(
        &self,
        session: &mut Session,
        user_id: i64,
        auth: &AuthContext,
    ) -> Result<(), Error> {
        let (lifetime, data) = self.new_session(session);
        let seconds = lifetime.as_secs_f64();
        let aal = auth.aal.map(i16::from);
        let params: [&(dyn ToSql + Sync); 7] = [
            &seconds,
            &data,
            &session.client_ip,
            &session.client_agent,
            &user_id,
            &aal,
            &auth.amr,
        ];
        let token = self.rotate(&sql::NEW_LOGGED_IN, &params).await?;
        created(session, token, Some(user_id), lifetime);
        session.record_authentication(Some(auth.log_in_level()), auth.amr.clone());
        Ok(())
    }

    /// What a new session is created with: its lifetime (whole seconds) and its data.
    fn new_session(&self, session: &Session) -> (Duration, Value) {
        let lifetime = whole_seconds(session.max_age.unwrap_or(self.store.config.max_age));
        (lifetime, Value::Object(session.data.clone()))
    }

    fn session_from_row(&self, id: &str, row: &Row) -> Session {
        let data = match row.get::<_, Value>(0) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let expires_at: OffsetDateTime = row.get(4);
        let db_now: OffsetDateTime = row.get(5);
        let authenticated_at: Option<OffsetDateTime> = row.get(6);
        let aal: Option<i16> = row.get(7);
        Session {
            id: Some(id.to_owned()),
            data,
            user_id: row.get(1),
            created_at: Some(row.get(2)),
            updated_at: Some(row.get(3)),
            expires_at: Some(expires_at),
            refreshed: slid_just_now(expires_at, db_now, self.store.config.max_age),
            ttl: duration_between(db_now, expires_at),
            authenticated_at,
            aal: aal.and_then(|aal| u8::try_from(aal).ok()),
            amr: row.get(8),
            authenticated_ago: authenticated_at.and_then(|at| duration_between(at, db_now)),
            ..Session::default()
        }
    }
}

impl<C: Connection> SessionStore for OnConnection<'_, C> {
    fn config(&self) -> &Config {
        &self.store.config
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, Error> {
        let rows = self.rows(&sql::LOAD, &[&id]).await?;
        Ok(rows.first().map(|row| self.session_from_row(id, row)))
    }

    async fn save(&self, session: &mut Session) -> Result<(), Error> {
        match session.id.clone() {
            None => {
                let user_id = session.user_id;
                self.create(session, user_id).await
            }
            Some(id) => {
                if session.cleared {
                    self.expect_live(&sql::CLEAR, &[&id]).await?;
                }
                if let Some(patch) = session.patch() {
                    self.expect_live(&sql::SET, &[&id, &patch]).await?;
                }
                session.mark_saved();
                Ok(())
            }
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        Ok(self.row(&sql::DESTROY, &[&id]).await?.get(0))
    }

    async fn regenerate_id(&self, session: &mut Session) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let token = self.rotate(&sql::REGENERATE, &[&id]).await?;
        session.id = Some(token);
        Ok(())
    }

    async fn set_user_with_context(
        &self,
        session: &mut Session,
        user_id: i64,
        max_age: Option<Duration>,
        auth: &AuthContext,
    ) -> Result<(), Error> {
        auth.check()?;
        if max_age.is_some() {
            session.max_age = max_age;
        }
        let Some(id) = session.id.clone() else {
            return self.create_logged_in(session, user_id, auth).await;
        };
        let max_age = max_age.map(whole_seconds);
        let seconds = max_age.map(|age| age.as_secs_f64());
        let aal = auth.aal.map(i16::from);
        let token = self
            .rotate(&sql::SET_USER, &[&id, &user_id, &seconds, &aal, &auth.amr])
            .await?;
        // A log-in slides the idle deadline to now + the session's lifetime.
        // Without a new lifetime the server keeps the session's own, which this process knows
        // when it set it; a session with more time left than the configured lifetime was
        // given a longer one (remember me): at least what it had left.
        let configured = self.store.config.max_age;
        let remembered = session.ttl.filter(|ttl| *ttl > configured);
        let lifetime = max_age
            .or(session.max_age)
            .or(remembered)
            .unwrap_or(configured);
        session.id = Some(token);
        session.user_id = Some(user_id);
        session.expires_at = Some(OffsetDateTime::now_utc() + lifetime);
        session.ttl = Some(lifetime);
        session.record_authentication(Some(auth.log_in_level()), auth.amr.clone());
        Ok(())
    }

    async fn reauthenticate(&self, session: &mut Session, auth: &AuthContext) -> Result<(), Error> {
        auth.check()?;
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let aal = auth.aal.map(i16::from);
        let token = self
            .rotate(&sql::REAUTHENTICATE, &[&id, &aal, &auth.amr])
            .await?;
        session.id = Some(token);
        let aal = auth.aal.or(session.aal).or(Some(1));
        let amr = auth.amr.clone().or_else(|| session.amr.clone());
        session.record_authentication(aal, amr);
        Ok(())
    }

    async fn auth_recent(&self, id: &str, within: Duration, min_aal: u8) -> Result<bool, Error> {
        let seconds = within.as_secs_f64();
        let min_aal = i16::from(min_aal);
        Ok(self
            .row(&sql::AUTH_RECENT, &[&id, &seconds, &min_aal])
            .await?
            .get(0))
    }

    async fn clear_user(&self, session: &mut Session) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let token = self.rotate(&sql::CLEAR_USER, &[&id]).await?;
        session.id = Some(token);
        session.user_id = None;
        session.forget_authentication();
        Ok(())
    }

    async fn touch(&self, session: &mut Session) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let deadline: Option<OffsetDateTime> = self.row(&sql::TOUCH, &[&id]).await?.get(0);
        session.expires_at = Some(deadline.ok_or(Error::NoSession)?);
        Ok(())
    }

    async fn incr(&self, id: &str, key: &str, by: i64) -> Result<Option<i64>, Error> {
        Ok(self.row(&sql::INCR, &[&id, &key, &by]).await?.get(0))
    }

    async fn take(&self, id: &str, key: &str) -> Result<Option<Value>, Error> {
        Ok(self.row(&sql::TAKE, &[&id, &key]).await?.get(0))
    }

    async fn push(
        &self,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> Result<Option<i32>, Error> {
        Ok(self
            .row(&sql::PUSH, &[&id, &key, value, &max_items])
            .await?
            .get(0))
    }

    async fn handle(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(self.row(&sql::HANDLE, &[&id]).await?.get(0))
    }

    async fn csrf_token(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(self.row(&sql::CSRF_TOKEN, &[&id]).await?.get(0))
    }

    async fn set_idp(&self, id: &str, login: &IdpLogin) -> Result<bool, Error> {
        Ok(self
            .row(&sql::SET_IDP, &[&id, &login.iss, &login.sid, &login.sub])
            .await?
            .get(0))
    }

    async fn revoke_idp(
        &self,
        iss: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<u64, Error> {
        let ended: i64 = self
            .row(&sql::REVOKE_IDP, &[&iss, &sid, &sub])
            .await?
            .get(0);
        Ok(ended as u64)
    }

    async fn verify_csrf(&self, id: &str, candidate: &str) -> Result<bool, Error> {
        Ok(self
            .row(&sql::CSRF_VERIFY, &[&id, &candidate])
            .await?
            .get(0))
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<UserSession>, Error> {
        let rows = self.rows(&sql::USER_SESSIONS, &[&user_id]).await?;
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

    async fn revoke(&self, user_id: i64, handle: &str) -> Result<bool, Error> {
        Ok(self.row(&sql::REVOKE, &[&user_id, &handle]).await?.get(0))
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> Result<u64, Error> {
        let ended: i64 = self
            .row(&sql::USER_REVOKE, &[&user_id, &except_id])
            .await?
            .get(0);
        Ok(ended as u64)
    }

    async fn cleanup(&self) -> Result<u64, Error> {
        Ok(self.row(&sql::CLEANUP, &[]).await?.get::<_, i64>(0) as u64)
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
/// Records in `session` that the store just created it under `token`, for `user_id`, with
/// `lifetime` ahead of it.
fn created(session: &mut Session, token: String, user_id: Option<i64>, lifetime: Duration) {
    let now = OffsetDateTime::now_utc();
    session.id = Some(token);
    session.user_id = user_id;
    session.created_at = Some(now);
    session.updated_at = Some(now);
    session.expires_at = Some(now + lifetime);
    session.ttl = Some(lifetime);
    session.mark_saved();
}

fn whole_seconds(lifetime: Duration) -> Duration {
    Duration::from_secs(lifetime.as_secs().max(1))
}

fn duration_between(from: OffsetDateTime, to: OffsetDateTime) -> Option<Duration> {
    Duration::try_from(to - from).ok()
}
