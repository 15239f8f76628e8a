//! The handler's view of the request's session: loaded on first use, changed in memory, applied
//! by the layer when the response goes out.

use super::action::PendingAction;
use super::erased::ErasedStore;
use crate::auth::AuthContext;
use crate::csrf;
use crate::error::Error;
use crate::same_key;
use crate::session::Session;
use crate::store::IdpLogin;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::OnceCell;

/// The key under which flash messages wait for the next request (an array, oldest first).
/// Reserved: do not set it yourself.
pub const FLASH_KEY: &str = "_flash";

/// At most this many flash messages wait in one session; older ones are dropped first.
pub(crate) const MAX_FLASHES: i32 = 32;

/// The current request's session, as handlers see it (extract it as a handler argument).
///
/// The session is loaded when a handler (or another extractor) first extracts it, once per
/// request; a request whose handlers never extract it makes no database call at all. Cloning
/// gives another handle on the same session. Changes are recorded and applied by
/// [`SessionLayer`](super::SessionLayer) when the response goes out: data changes as one merge
/// patch, log-in and log-out with a token rotation, destroy by telling the client to forget the
/// token. The same-key operations ([`incr`](Self::incr), [`take`](Self::take),
/// [`push`](Self::push)) and reading [flash messages](Self::take_flashes) are applied at once,
/// atomically on the server.
#[derive(Clone)]
pub struct CurrentSession {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn ErasedStore>,
    /// The token the request carried (well-formed, not yet known to be live).
    token: Option<String>,
    /// The client's address and user agent, recorded if the session is created.
    client: (Option<IpAddr>, Option<String>),
    /// Set by the first extraction, once.
    loaded: OnceCell<()>,
    state: Mutex<State>,
}

/// What the handler asked for, applied by the layer at the end of the request.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) session: Session,
    /// The session came from the store (the request carried a live session's token).
    pub(crate) loaded: bool,
    pub(crate) action: PendingAction,
    /// Flash messages for the next request, pushed when the response goes out.
    pub(crate) flashes: Vec<Value>,
    /// The identity provider's log-in to record for the session after its log-in rotation.
    pub(crate) idp: Option<IdpLogin>,
}

impl CurrentSession {
    pub(crate) fn new(
        store: Arc<dyn ErasedStore>,
        token: Option<String>,
        client: (Option<IpAddr>, Option<String>),
    ) -> CurrentSession {
        CurrentSession {
            shared: Arc::new(Shared {
                store,
                token,
                client,
                loaded: OnceCell::new(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Loads the session the first time it is asked for; later calls return at once.
    pub(crate) async fn ensure_loaded(&self) -> Result<(), Error> {
        self.shared
            .loaded
            .get_or_try_init(|| async {
                let found = match &self.shared.token {
                    Some(token) => self.shared.store.load(token).await?,
                    None => None,
                };
                let mut state = self.state();
                state.loaded = found.is_some();
                state.session = found.unwrap_or_default();
                let (ip, agent) = self.shared.client.clone();
                state.session.record_client(ip, agent);
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// Whether a handler used the session in this request (if not, the layer does nothing).
    pub(crate) fn was_used(&self) -> bool {
        self.shared.loaded.initialized()
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A handler that panicked while holding the lock leaves consistent data behind:
        // every method changes the state in one step.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the session (a snapshot of it, with this request's changes). `read` runs under the
    /// session's lock: calling another method of this session inside it would wait forever.
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
        match state.action {
            PendingAction::LogIn { user_id, .. } => Some(user_id),
            PendingAction::LogOut | PendingAction::Destroy => None,
            PendingAction::Keep | PendingAction::Regenerate | PendingAction::Reauthenticate(_) => {
                state.session.user_id()
            }
        }
    }

    /// The assurance level (1 to 3) of the user's last log-in or re-authentication, counting
    /// one made earlier in this request; `None` without a user.
    pub fn aal(&self) -> Option<u8> {
        let state = self.state();
        match &state.action {
            PendingAction::LogIn { auth, .. } => Some(auth.log_in_level()),
            PendingAction::Reauthenticate(auth) => auth.aal.or(state.session.aal()).or(Some(1)),
            PendingAction::LogOut | PendingAction::Destroy => None,
            PendingAction::Keep | PendingAction::Regenerate => state.session.aal(),
        }
    }

    /// Whether the user authenticated within `within`, at level `min_aal` or above: "may this
    /// request do a sensitive operation" (ASVS 5.0 7.5.3). Answered from the session this
    /// request loaded, by the server's clock at that load, without a database call; a log-in
    /// or re-authentication earlier in this request counts as just now.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use axum::http::StatusCode;
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn change_email(session: CurrentSession) -> StatusCode {
    ///     if !session.authenticated_within(Duration::from_secs(300), 2) {
    ///         // Ask for the password and a second factor again, then call
    ///         // session.reauthenticate(AuthContext::new(2, ["pwd", "otp"])).
    ///         return StatusCode::UNAUTHORIZED;
    ///     }
    ///     StatusCode::OK
    /// }
    /// ```
    pub fn authenticated_within(&self, within: Duration, min_aal: u8) -> bool {
        let just_now = matches!(
            self.state().action,
            PendingAction::LogIn { .. } | PendingAction::Reauthenticate(_)
        );
        if just_now {
            return self.aal().is_some_and(|aal| aal >= min_aal);
        }
        let state = self.state();
        matches!(
            state.action,
            PendingAction::Keep | PendingAction::Regenerate
        ) && state.session.authenticated_within(within, min_aal)
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
    /// the user); `None` for a new session. Never send it anywhere but the cookie (or the
    /// configured header).
    pub fn id(&self) -> Option<String> {
        self.state().session.id().map(str::to_owned)
    }

    /// The CSRF token to put in this page's forms (or in a header its scripts send), bound to
    /// the session: [`verify_csrf`](Self::verify_csrf) checks it on the request that submits
    /// the form. It is the extension's `session_csrf_token`, derived from the token here
    /// without a database call. `None` while there is no token to bind it to: for a session
    /// not in the store yet (it is created when the response goes out), and when this request
    /// rotates or ends the token (log-in, log-out, regenerate, destroy), which changes the CSRF
    /// token too: render forms on the next request (after the redirect).
    ///
    /// ```no_run
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn form(session: CurrentSession) -> String {
    ///     match session.csrf_token() {
    ///         Some(csrf) => format!(r#"<input type="hidden" name="csrf" value="{csrf}">"#),
    ///         None => "log in first".into(),
    ///     }
    /// }
    /// ```
    pub fn csrf_token(&self) -> Option<String> {
        let state = self.state();
        if !state.loaded || state.action != PendingAction::Keep {
            return None;
        }
        state.session.id().map(csrf::token_for)
    }

    /// Whether `candidate` (what the form or header sent) is the CSRF token of the session this
    /// request came with, compared in constant time, without a database call (the session was
    /// loaded, so it is live). False for a request without a stored session: refuse the
    /// state-changing request then.
    ///
    /// ```no_run
    /// use axum::http::StatusCode;
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn transfer(session: CurrentSession, csrf: String) -> StatusCode {
    ///     if !session.verify_csrf(&csrf) {
    ///         return StatusCode::FORBIDDEN;
    ///     }
    ///     StatusCode::OK
    /// }
    /// ```
    pub fn verify_csrf(&self, candidate: &str) -> bool {
        let state = self.state();
        match state.session.id() {
            Some(id) if state.loaded => csrf::matches(&csrf::token_for(id), candidate),
            _ => false,
        }
    }

    fn ask(&self, action: PendingAction) {
        let mut state = self.state();
        let keeps_idp = action == PendingAction::Regenerate;
        state.action = std::mem::take(&mut state.action).then(action);
        // The provider's record belongs to the log-in that made it (log_in_via_idp sets it
        // after asking): any later log-in, log-out or destroy drops it; a regenerate changes
        // nothing of a pending log-in, and keeps it.
        if !keeps_idp {
            state.idp = None;
        }
    }

    /// Logs `user_id` in: the token rotates when the response goes out (against session
    /// fixation), and the session is created if it did not exist yet. The session keeps its
    /// lifetime ([`Config::max_age`](crate::Config::max_age) unless it was remembered).
    pub fn log_in(&self, user_id: i64) {
        self.ask(PendingAction::LogIn {
            user_id,
            max_age: None,
            auth: AuthContext::UNSTATED,
        });
    }

    /// Logs `user_id` in as [`log_in`](Self::log_in) (with `max_age`, as
    /// [`log_in_remembered`](Self::log_in_remembered)), recording how the user authenticated:
    /// the assurance level and methods, for [`authenticated_within`](Self::authenticated_within)
    /// and the extension's per-level timeouts (`varel_session.aal_timeouts`).
    /// [`Error::Invalid`] (22023, and no log-in) for a level other than 1, 2 or 3.
    ///
    /// ```no_run
    /// use varel_session_client::axum::CurrentSession;
    /// use varel_session_client::AuthContext;
    ///
    /// async fn second_factor_ok(session: CurrentSession) -> &'static str {
    ///     match session.log_in_with(42, None, AuthContext::new(2, ["pwd", "otp"])) {
    ///         Ok(()) => "welcome",
    ///         Err(_) => "unreachable for levels 1 to 3",
    ///     }
    /// }
    /// ```
    pub fn log_in_with(
        &self,
        user_id: i64,
        max_age: Option<Duration>,
        auth: AuthContext,
    ) -> Result<(), Error> {
        auth.check()?;
        let max_age = max_age.map(|age| age.clamp(Duration::from_secs(1), crate::MAX_COOKIE_AGE));
        self.ask(PendingAction::LogIn {
            user_id,
            max_age,
            auth,
        });
        Ok(())
    }

    /// The logged-in user proved who they are again (a step-up to a higher level, or before a
    /// sensitive operation): when the response goes out the token rotates, and the session
    /// records the time, the level and methods `auth` states (its own otherwise) and restarts
    /// both deadlines. [`Error::Invalid`] (22023) for a level other than 1, 2 or 3. On a session
    /// without a user the response fails with SQLSTATE 55000: a programmer's mistake.
    pub fn reauthenticate(&self, auth: AuthContext) -> Result<(), Error> {
        auth.check()?;
        self.ask(PendingAction::Reauthenticate(auth));
        Ok(())
    }

    /// Logs `user_id` in with "remember me": as [`log_in`](Self::log_in), and the session's
    /// idle lifetime becomes `max_age` (at most [`MAX_COOKIE_AGE`](crate::MAX_COOKIE_AGE), 400
    /// days, which browsers keep a cookie), so it outlives a browser restart and long pauses.
    /// Its cookie is persistent even with [`Config::browser_session`](crate::Config).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn login(session: CurrentSession) -> &'static str {
    ///     session.log_in_remembered(42, Duration::from_secs(30 * 24 * 3600));
    ///     "welcome back in a month"
    /// }
    /// ```
    pub fn log_in_remembered(&self, user_id: i64, max_age: Duration) {
        let max_age = max_age.clamp(Duration::from_secs(1), crate::MAX_COOKIE_AGE);
        self.ask(PendingAction::LogIn {
            user_id,
            max_age: Some(max_age),
            auth: AuthContext::UNSTATED,
        });
    }

    /// Logs `user_id` in after an OpenID Connect log-in, as [`log_in`](Self::log_in), and
    /// records the provider's `iss`, `sid` and `sub` from the ID token for the session under its
    /// new token, so that the provider's back-channel logout
    /// ([`BackChannelLogout`](super::BackChannelLogout)) ends it. A later `log_in`,
    /// `log_in_remembered`, `log_out` or `destroy` in the same request drops the record.
    /// [`Error::Invalid`] (22004 or 22023, and no log-in) when `login` names neither `sid` nor
    /// `sub`, or a claim is over 2048 characters, as the extension would refuse it. Should the
    /// record fail when the response goes out, the log-in stands (the client gets its new token)
    /// and the failure is logged: the session is then not ended by a back-channel logout.
    ///
    /// ```no_run
    /// use varel_session_client::axum::CurrentSession;
    /// use varel_session_client::IdpLogin;
    ///
    /// async fn oidc_callback(session: CurrentSession) -> &'static str {
    ///     // ... the ID token verified, its claims read:
    ///     let login = IdpLogin {
    ///         iss: "https://idp.example".into(),
    ///         sid: Some("08a5019c-17e1-4977-8f42-65a12843ea02".into()),
    ///         sub: Some("248289761001".into()),
    ///     };
    ///     match session.log_in_via_idp(42, login) {
    ///         Ok(()) => "welcome",
    ///         Err(_) => "the provider's claims are unusable",
    ///     }
    /// }
    /// ```
    pub fn log_in_via_idp(&self, user_id: i64, login: IdpLogin) -> Result<(), Error> {
        self.log_in_via_idp_with(user_id, None, login)
    }

    /// [`log_in_via_idp`](Self::log_in_via_idp) with "remember me", as
    /// [`log_in_remembered`](Self::log_in_remembered).
    pub fn log_in_remembered_via_idp(
        &self,
        user_id: i64,
        max_age: Duration,
        login: IdpLogin,
    ) -> Result<(), Error> {
        self.log_in_via_idp_with(user_id, Some(max_age), login)
    }

    fn log_in_via_idp_with(
        &self,
        user_id: i64,
        max_age: Option<Duration>,
        login: IdpLogin,
    ) -> Result<(), Error> {
        login.check()?;
        match max_age {
            Some(max_age) => self.log_in_remembered(user_id, max_age),
            None => self.log_in(user_id),
        }
        self.state().idp = Some(login);
        Ok(())
    }

    /// Logs the user out but keeps the session and its data; the token rotates.
    pub fn log_out(&self) {
        self.ask(PendingAction::LogOut);
    }

    /// Gives the session a new token when the response goes out.
    pub fn regenerate(&self) {
        self.ask(PendingAction::Regenerate);
    }

    /// Ends the session: it is deleted and the client is told to forget the token. Final for
    /// this request: later log-ins or regenerations in it are ignored.
    pub fn destroy(&self) {
        self.ask(PendingAction::Destroy);
    }

    /// The token to run a same-key operation on `key` in the store, or `None` to run it in
    /// memory: for a session not yet in the store, and when this request already changed
    /// `key` or cleared the session (those changes are saved at the end of the request, and
    /// would overwrite the store's result; the operation joins them instead).
    fn stored_id_for(&self, key: &str) -> Option<String> {
        let state = self.state();
        let pending = state.session.cleared || state.session.changes.contains_key(key);
        (state.loaded && !pending)
            .then(|| state.session.id.clone())
            .flatten()
    }

    /// Adds `by` to the integer under `key` and returns the new value (a missing key counts as
    /// 0), atomically on the server: concurrent requests of one browser never lose a count,
    /// which a get, +1, set would. A session not yet in the store counts in memory and is
    /// created when the response goes out. [`Error::NoSession`] when the session ended
    /// meanwhile.
    ///
    /// ```no_run
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn visit(session: CurrentSession) -> String {
    ///     match session.incr("visits", 1).await {
    ///         Ok(n) => format!("visit {n}"),
    ///         Err(error) => format!("no count: {error}"),
    ///     }
    /// }
    /// ```
    pub async fn incr(&self, key: &str, by: i64) -> Result<i64, Error> {
        let Some(id) = self.stored_id_for(key) else {
            let mut state = self.state();
            let sum = same_key::incremented(state.session.get(key), key, by)?;
            state.session.set(key, sum);
            return Ok(sum);
        };
        let sum = self
            .shared
            .store
            .incr(&id, key, by)
            .await?
            .ok_or(Error::NoSession)?;
        self.state().session.data.insert(key.to_owned(), sum.into());
        Ok(sum)
    }

    /// Returns the value under `key` and removes it, atomically on the server: of concurrent
    /// requests, exactly one gets it (read-once values, one-time nonces). `None` when there is
    /// no such key. Costs no database call when the loaded session has no such key.
    ///
    /// ```no_run
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn confirm(session: CurrentSession, nonce: String) -> &'static str {
    ///     match session.take("nonce").await {
    ///         Ok(Some(expected)) if expected == nonce.as_str() => "confirmed, once",
    ///         _ => "expired or used",
    ///     }
    /// }
    /// ```
    pub async fn take(&self, key: &str) -> Result<Option<Value>, Error> {
        let id = {
            let mut state = self.state();
            if state.session.get(key).is_none() {
                // Nothing to take (and nothing to save).
                return Ok(None);
            }
            let pending = state.session.cleared || state.session.changes.contains_key(key);
            match state.loaded.then(|| state.session.id.clone()).flatten() {
                Some(id) if !pending => id,
                // A session not yet in the store, or a key this request changed: in memory.
                _ => return Ok(state.session.delete(key)),
            }
        };
        let taken = self.shared.store.take(&id, key).await?;
        let mut state = self.state();
        state.session.data.remove(key);
        state.session.changes.remove(key);
        Ok(taken)
    }

    /// Appends `value` to the array under `key` (creating it), keeping the newest `max_items`
    /// when given, atomically on the server; returns the new length. [`Error::NoSession`] when
    /// the session ended meanwhile.
    ///
    /// ```no_run
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// async fn viewed(session: CurrentSession) -> String {
    ///     // The last 10 pages viewed, from every tab of this browser.
    ///     let n = session.push("recent", "/pricing", Some(10)).await.unwrap_or(0);
    ///     format!("{n} recent pages")
    /// }
    /// ```
    pub async fn push(
        &self,
        key: &str,
        value: impl Into<Value>,
        max_items: Option<i32>,
    ) -> Result<usize, Error> {
        let value = value.into();
        same_key::check_max_items(max_items)?;
        let Some(id) = self.stored_id_for(key) else {
            let mut state = self.state();
            let items = same_key::appended(state.session.get(key), key, value, max_items)?;
            let length = items.len();
            state.session.set(key, items);
            return Ok(length);
        };
        let length = self
            .shared
            .store
            .push(&id, key, &value, max_items)
            .await?
            .ok_or(Error::NoSession)?;
        // The local copy follows, unrecorded (the store has it already).
        let mut state = self.state();
        let data = &mut state.session.data;
        if let Some(Value::Array(items)) = data.get_mut(key) {
            items.push(value);
            same_key::keep_newest(items, max_items);
        } else {
            data.insert(key.to_owned(), Value::Array(vec![value]));
        }
        Ok(length as usize)
    }

    /// Leaves `message` for the next request of this session (a flash message: "saved",
    /// "wrong password"), which [`take_flashes`](Self::take_flashes) shows once. Any
    /// serializable type: a string, or your own struct with a level. Saved when the response
    /// goes out, appended atomically, so messages of concurrent requests are all kept (the
    /// newest 32).
    ///
    /// ```no_run
    /// use serde::{Deserialize, Serialize};
    /// use varel_session_client::axum::CurrentSession;
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Notice { level: String, text: String }
    ///
    /// async fn save(session: CurrentSession) -> &'static str {
    ///     session.flash(Notice { level: "success".into(), text: "Saved.".into() });
    ///     "redirecting"
    /// }
    ///
    /// async fn page(session: CurrentSession) -> String {
    ///     let notices: Vec<Notice> = session.take_flashes().await.unwrap_or_default();
    ///     notices.iter().map(|n| format!("[{}] {}\n", n.level, n.text)).collect()
    /// }
    /// ```
    pub fn flash<T: Serialize>(&self, message: T) {
        // A type whose serialization fails (a map with non-string keys) is a programmer's
        // mistake; it is dropped rather than failing the request later.
        if let Ok(value) = serde_json::to_value(message) {
            self.state().flashes.push(value);
        }
    }

    /// The flash messages left by earlier requests, oldest first, removed in the same atomic
    /// update: each is shown exactly once, even to concurrent requests. Messages of another
    /// shape than `T` are skipped. Costs no database call when there are none.
    pub async fn take_flashes<T: DeserializeOwned>(&self) -> Result<Vec<T>, Error> {
        let taken = self.take(FLASH_KEY).await?;
        let Some(Value::Array(items)) = taken else {
            return Ok(Vec::new());
        };
        Ok(items
            .into_iter()
            .filter_map(|item| T::deserialize(item).ok())
            .collect())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let current = parts.extensions.get::<CurrentSession>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "CurrentSession used on a route without SessionLayer",
        ))?;
        match current.ensure_loaded().await {
            Ok(()) => Ok(current),
            Err(error) => {
                tracing::error!(%error, "session store failure");
                Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "session store unavailable",
                ))
            }
        }
    }
}
