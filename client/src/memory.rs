//! [`MemoryStore`]: the [`SessionStore`] contract kept in the process, for tests.

use crate::auth::{self, AuthContext};
use crate::config::Config;
use crate::cookies::is_token;
use crate::csrf;
use crate::error::Error;
use crate::same_key;
use crate::session::Session;
use crate::store::{IdpLogin, SessionStore, UserSession};
use rand::RngCore;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;

/// Sessions kept in this process's memory, with the same contract as
/// [`PostgresStore`](crate::PostgresStore): for testing handlers without a database.
///
/// What it does not give, and the PostgreSQL store does: durability (everything is gone when the
/// process ends), sharing between processes or app servers, joining a database transaction, the
/// per-user cap (`varel_session.max_sessions_per_user`), the absolute deadline, the data size
/// limit, events, and the server's clock (it uses this machine's). Use it in tests, never in
/// production.
///
/// ```
/// use axum::{routing::get, Router};
/// use varel_session_client::axum::{CurrentSession, SessionLayer};
/// use varel_session_client::{Config, MemoryStore};
///
/// async fn hello(session: CurrentSession) -> String {
///     session.set("seen", true);
///     "hello".into()
/// }
///
/// let store = MemoryStore::new(Config::default()).unwrap();
/// let app: Router = Router::new().route("/", get(hello)).layer(SessionLayer::new(store));
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    config: Arc<Config>,
    sessions: Arc<Mutex<HashMap<String, Stored>>>,
}

/// One session as the store keeps it.
#[derive(Clone, Debug)]
struct Stored {
    handle: String,
    data: Map<String, Value>,
    user_id: Option<i64>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    max_age: Duration,
    ip: Option<std::net::IpAddr>,
    user_agent: Option<String>,
    last_seen_at: OffsetDateTime,
    /// The last log-in's or re-authentication's time, level and methods.
    authenticated_at: Option<OffsetDateTime>,
    aal: Option<u8>,
    amr: Option<Vec<String>>,
    /// The identity provider's log-in, with the user it was recorded for (a later log-out or
    /// log-in as someone else makes it name no session, as in the extension).
    idp: Option<(i64, IdpLogin)>,
}

impl Stored {
    fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at > now
    }

    fn slide(&mut self, now: OffsetDateTime) {
        self.expires_at = now + self.max_age;
        self.last_seen_at = now;
    }
}

impl MemoryStore {
    /// An empty store; fails when `config` does not [validate](Config::validate).
    pub fn new(config: Config) -> Result<MemoryStore, Error> {
        config.validate()?;
        Ok(MemoryStore {
            config: Arc::new(config),
            sessions: Arc::default(),
        })
    }

    /// How many sessions the store holds, live or expired (for tests).
    pub fn len(&self) -> usize {
        self.sessions().len()
    }

    /// Whether the store holds no session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Stored>> {
        // Every operation changes the map in one step under the lock, so a panic elsewhere
        // leaves it consistent.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `change` on the live session named by `id`; `None` when there is none.
    fn with_live<R>(&self, id: &str, change: impl FnOnce(&mut Stored) -> R) -> Option<R> {
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.sessions();
        sessions
            .get_mut(&key_of(id)?)
            .filter(|stored| stored.is_live(now))
            .map(change)
    }

    /// Moves the live session named by `id` to a new token and applies `change`; the new token.
    fn rotate(&self, id: &str, change: impl FnOnce(&mut Stored)) -> Result<String, Error> {
        self.rotate_if(id, |stored| {
            change(stored);
            Ok(())
        })
    }

    /// [`rotate`](Self::rotate) with a change that may refuse: then nothing changes.
    fn rotate_if(
        &self,
        id: &str,
        change: impl FnOnce(&mut Stored) -> Result<(), Error>,
    ) -> Result<String, Error> {
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.sessions();
        let key = key_of(id).ok_or(Error::NoSession)?;
        let mut stored = match sessions.get(&key) {
            Some(stored) if stored.is_live(now) => stored.clone(),
            Some(_) => {
                sessions.remove(&key);
                return Err(Error::NoSession);
            }
            None => return Err(Error::NoSession),
        };
        change(&mut stored)?;
        sessions.remove(&key);
        stored.last_seen_at = now;
        let token = random_hex(32);
        sessions.insert(token.clone(), stored);
        Ok(token)
    }

    fn session_from(&self, id: &str, stored: &Stored, now: OffsetDateTime, slid: bool) -> Session {
        Session {
            id: Some(id.to_owned()),
            data: stored.data.clone(),
            user_id: stored.user_id,
            created_at: Some(stored.created_at),
            updated_at: Some(stored.updated_at),
            expires_at: Some(stored.expires_at),
            refreshed: slid,
            ttl: Duration::try_from(stored.expires_at - now).ok(),
            authenticated_at: stored.authenticated_at,
            aal: stored.aal,
            amr: stored.amr.clone(),
            authenticated_ago: stored
                .authenticated_at
                .and_then(|at| Duration::try_from(now - at).ok()),
            ..Session::default()
        }
    }

    fn create(&self, session: &mut Session) -> Result<(), Error> {
        let now = OffsetDateTime::now_utc();
        let max_age = session.max_age.unwrap_or(self.config.max_age);
        let stored = Stored {
            handle: random_hex(8),
            data: session.data.clone(),
            user_id: session.user_id,
            created_at: now,
            updated_at: now,
            expires_at: now + max_age,
            max_age,
            ip: session.client_ip,
            user_agent: session.client_agent.clone(),
            last_seen_at: now,
            authenticated_at: None,
            aal: None,
            amr: None,
            idp: None,
        };
        let token = random_hex(32);
        self.sessions().insert(token.clone(), stored);
        session.id = Some(token);
        session.created_at = Some(now);
        session.updated_at = Some(now);
        session.expires_at = Some(now + max_age);
        session.ttl = Some(max_age);
        session.mark_saved();
        Ok(())
    }
}

impl SessionStore for MemoryStore {
    fn config(&self) -> &Config {
        &self.config
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, Error> {
        let now = OffsetDateTime::now_utc();
        Ok(self.with_live(id, |stored| {
            // As session_load: slide when less than 80% of the lifetime is left.
            let due = stored.expires_at - now < stored.max_age * 4 / 5;
            if due {
                stored.slide(now);
            }
            self.session_from(id, stored, now, due)
        }))
    }

    async fn save(&self, session: &mut Session) -> Result<(), Error> {
        let Some(id) = session.id.clone() else {
            return self.create(session);
        };
        let (cleared, patch) = (session.cleared, session.changes.clone());
        self.with_live(&id, |stored| {
            if cleared {
                stored.data.clear();
            }
            for (key, value) in patch {
                match value {
                    Value::Null => stored.data.remove(&key),
                    value => stored.data.insert(key, value),
                };
            }
            let now = OffsetDateTime::now_utc();
            stored.updated_at = now;
            stored.last_seen_at = now;
        })
        .ok_or(Error::NoSession)?;
        session.mark_saved();
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        let now = OffsetDateTime::now_utc();
        let Some(key) = key_of(id) else {
            return Ok(false);
        };
        Ok(self
            .sessions()
            .remove(&key)
            .is_some_and(|stored| stored.is_live(now)))
    }

    async fn regenerate_id(&self, session: &mut Session) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        session.id = Some(self.rotate(&id, |_| {})?);
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
        if session.id.is_none() {
            // As the PostgreSQL store: created, then logged in.
            self.create(session)?;
        }
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let now = OffsetDateTime::now_utc();
        let mut lifetime = self.config.max_age;
        let token = self.rotate(&id, |stored| {
            if let Some(max_age) = max_age {
                stored.max_age = max_age;
            }
            lifetime = stored.max_age;
            stored.user_id = Some(user_id);
            stored.updated_at = now;
            stored.authenticated_at = Some(now);
            stored.aal = Some(auth.log_in_level());
            stored.amr = auth.amr.clone();
            stored.slide(now);
        })?;
        session.id = Some(token);
        session.user_id = Some(user_id);
        session.expires_at = Some(now + lifetime);
        session.ttl = Some(lifetime);
        session.record_authentication(Some(auth.log_in_level()), auth.amr.clone());
        Ok(())
    }

    async fn reauthenticate(&self, session: &mut Session, auth: &AuthContext) -> Result<(), Error> {
        auth.check()?;
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let now = OffsetDateTime::now_utc();
        let mut recorded = None;
        let mut lifetime = self.config.max_age;
        let token = self.rotate_if(&id, |stored| {
            if stored.user_id.is_none() {
                return Err(auth::no_user_to_reauthenticate());
            }
            stored.authenticated_at = Some(now);
            stored.aal = auth.aal.or(stored.aal).or(Some(1));
            if auth.amr.is_some() {
                stored.amr = auth.amr.clone();
            }
            lifetime = stored.max_age;
            stored.slide(now);
            recorded = Some((stored.aal, stored.amr.clone()));
            Ok(())
        })?;
        session.id = Some(token);
        session.expires_at = Some(now + lifetime);
        session.ttl = Some(lifetime);
        if let Some((aal, amr)) = recorded {
            session.record_authentication(aal, amr);
        }
        Ok(())
    }

    async fn auth_recent(&self, id: &str, within: Duration, min_aal: u8) -> Result<bool, Error> {
        let now = OffsetDateTime::now_utc();
        Ok(self
            .with_live(id, |stored| {
                stored.user_id.is_some()
                    && stored.authenticated_at.is_some_and(|at| now - at <= within)
                    && stored.aal.is_some_and(|aal| aal >= min_aal)
            })
            .unwrap_or(false))
    }

    async fn clear_user(&self, session: &mut Session) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let now = OffsetDateTime::now_utc();
        session.id = Some(self.rotate(&id, |stored| {
            stored.user_id = None;
            stored.updated_at = now;
            stored.authenticated_at = None;
            stored.aal = None;
            stored.amr = None;
        })?);
        session.user_id = None;
        session.forget_authentication();
        Ok(())
    }

    async fn touch(&self, session: &mut Session) -> Result<(), Error> {
        let id = session.id.clone().ok_or(Error::NoSession)?;
        let now = OffsetDateTime::now_utc();
        let deadline = self
            .with_live(&id, |stored| {
                stored.slide(now);
                stored.expires_at
            })
            .ok_or(Error::NoSession)?;
        session.expires_at = Some(deadline);
        Ok(())
    }

    async fn incr(&self, id: &str, key: &str, by: i64) -> Result<Option<i64>, Error> {
        self.with_live(id, |stored| {
            let sum = same_key::incremented(stored.data.get(key), key, by)?;
            stored.data.insert(key.to_owned(), Value::from(sum));
            stored.updated_at = OffsetDateTime::now_utc();
            Ok(sum)
        })
        .transpose()
    }

    async fn take(&self, id: &str, key: &str) -> Result<Option<Value>, Error> {
        Ok(self
            .with_live(id, |stored| {
                let taken = stored.data.remove(key);
                if taken.is_some() {
                    stored.updated_at = OffsetDateTime::now_utc();
                }
                taken
            })
            .flatten())
    }

    async fn push(
        &self,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> Result<Option<i32>, Error> {
        same_key::check_max_items(max_items)?;
        self.with_live(id, |stored| {
            let items = same_key::appended(stored.data.get(key), key, value.clone(), max_items)?;
            let length = items.len() as i32;
            stored.data.insert(key.to_owned(), Value::Array(items));
            stored.updated_at = OffsetDateTime::now_utc();
            Ok(length)
        })
        .transpose()
    }

    async fn handle(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(self.with_live(id, |stored| stored.handle.clone()))
    }

    async fn set_idp(&self, id: &str, login: &IdpLogin) -> Result<bool, Error> {
        login.check()?;
        self.with_live(id, |stored| match stored.user_id {
            Some(user_id) => {
                stored.idp = Some((user_id, login.clone()));
                Ok(true)
            }
            None => Err(Error::invalid("55000", "the session has no user".into())),
        })
        .unwrap_or(Ok(false))
    }

    async fn revoke_idp(
        &self,
        iss: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<u64, Error> {
        if sid.is_none() && sub.is_none() {
            return Err(Error::invalid(
                "22004",
                "iss, and sid or sub, must not be null".into(),
            ));
        }
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.sessions();
        let before = sessions.len();
        sessions.retain(|_, stored| {
            let named = stored.idp.as_ref().is_some_and(|(user_id, login)| {
                stored.user_id == Some(*user_id)
                    && login.iss == iss
                    && match sid {
                        Some(sid) => login.sid.as_deref() == Some(sid),
                        None => login.sub.as_deref() == sub,
                    }
            });
            !(named && stored.is_live(now))
        });
        Ok((before - sessions.len()) as u64)
    }

    async fn csrf_token(&self, id: &str) -> Result<Option<String>, Error> {
        Ok(self.with_live(id, |_| csrf::token_for(id)))
    }

    async fn verify_csrf(&self, id: &str, candidate: &str) -> Result<bool, Error> {
        Ok(self
            .with_live(id, |_| csrf::matches(&csrf::token_for(id), candidate))
            .unwrap_or(false))
    }

    async fn user_sessions(&self, user_id: i64) -> Result<Vec<UserSession>, Error> {
        let now = OffsetDateTime::now_utc();
        let mut list: Vec<UserSession> = self
            .sessions()
            .values()
            .filter(|stored| stored.user_id == Some(user_id) && stored.is_live(now))
            .map(|stored| UserSession {
                handle: stored.handle.clone(),
                created_at: stored.created_at,
                updated_at: stored.updated_at,
                expires_at: stored.expires_at,
                absolute_expires_at: None,
                ip: stored.ip,
                user_agent: stored.user_agent.clone(),
                last_seen_at: Some(stored.last_seen_at),
            })
            .collect();
        list.sort_by_key(|session| std::cmp::Reverse(session.created_at));
        Ok(list)
    }

    async fn revoke(&self, user_id: i64, handle: &str) -> Result<bool, Error> {
        let now = OffsetDateTime::now_utc();
        // Handles are hex, which PostgreSQL reads in either case.
        let handle = handle.to_ascii_lowercase();
        let mut sessions = self.sessions();
        let before = sessions.len();
        sessions.retain(|_, stored| {
            !(stored.user_id == Some(user_id) && stored.handle == handle && stored.is_live(now))
        });
        Ok(sessions.len() < before)
    }

    async fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> Result<u64, Error> {
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.sessions();
        let before = sessions.len();
        let except = except_id.and_then(key_of);
        sessions.retain(|token, stored| {
            Some(token) == except.as_ref()
                || !(stored.user_id == Some(user_id) && stored.is_live(now))
        });
        Ok((before - sessions.len()) as u64)
    }

    async fn cleanup(&self) -> Result<u64, Error> {
        let now = OffsetDateTime::now_utc();
        let mut sessions = self.sessions();
        let before = sessions.len();
        sessions.retain(|_, stored| stored.is_live(now));
        Ok((before - sessions.len()) as u64)
    }
}

/// The map key of a token: tokens are hex, which the PostgreSQL store reads in either case;
/// `None` when `id` is not a token.
fn key_of(id: &str) -> Option<String> {
    is_token(id).then(|| id.to_ascii_lowercase())
}

/// `bytes` random bytes from the operating system's generator (through `rand`'s thread-local
/// ChaCha, reseeded from it), as lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}
