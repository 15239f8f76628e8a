//! The [`SessionStore`] contract, which [`PostgresStore`](crate::PostgresStore) (and its view on
//! one connection, [`OnConnection`](crate::OnConnection)) and [`MemoryStore`](crate::MemoryStore)
//! implement and the axum layer (`axum::SessionLayer`) is generic over.

use crate::auth::{self, AuthContext};
use crate::config::Config;
use crate::error::Error;
use crate::session::Session;
use serde_json::Value;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;
use time::OffsetDateTime;

/// A log-in through an OpenID Connect provider, as its ID token names it: the provider
/// (`iss`), its session (`sid`) and the user there (`sub`). Recorded for the session
/// ([`SessionStore::set_idp`]) so that the provider's back-channel logout
/// ([`SessionStore::revoke_idp`]) can end it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpLogin {
    /// The provider's issuer identifier.
    pub iss: String,
    /// The provider's session id (the ID token's `sid`), if it sends one.
    pub sid: Option<String>,
    /// The user's subject identifier at the provider.
    pub sub: Option<String>,
}

impl IdpLogin {
    /// The longest claim the extension records.
    pub const MAX_CLAIM_CHARS: usize = 2048;

    /// What the extension's `session_set_idp` would refuse: neither `sid` nor `sub` (22004), or
    /// a claim over [`MAX_CLAIM_CHARS`](Self::MAX_CLAIM_CHARS) (22023).
    pub fn check(&self) -> Result<(), Error> {
        if self.sid.is_none() && self.sub.is_none() {
            return Err(Error::invalid(
                "22004",
                "iss, and sid or sub, must not be null".into(),
            ));
        }
        let claims = [Some(&self.iss), self.sid.as_ref(), self.sub.as_ref()];
        if claims
            .into_iter()
            .flatten()
            .any(|claim| claim.chars().count() > Self::MAX_CLAIM_CHARS)
        {
            return Err(Error::invalid(
                "22023",
                "iss, sid and sub must be at most 2048 characters".into(),
            ));
        }
        Ok(())
    }
}

/// One of a user's sessions, for a "your devices" page. `handle` names it without revealing
/// its token: pass it to [`SessionStore::revoke`] to end that session.
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

/// Where sessions are kept: the operations the axum layer (`axum::SessionLayer`) and
/// applications use, with one contract.
///
/// [`PostgresStore`](crate::PostgresStore) is the real one;
/// [`PostgresStore::on`](crate::PostgresStore::on) gives it on one connection or inside a
/// transaction of the application's. [`MemoryStore`](crate::MemoryStore) keeps sessions in the
/// process, for testing handlers without PostgreSQL; the client's contract tests
/// (`client/tests/contract.rs`) run the same cases against both. What only the PostgreSQL store
/// gives is listed on [`MemoryStore`](crate::MemoryStore).
///
/// The contract:
/// - A token that is malformed, unknown, expired, destroyed, revoked or rotated away names no
///   session: `load` gives `None`, the same-key operations give `None`, writes give
///   [`Error::NoSession`]. Never another error.
/// - Saving writes only the changes, as one merge patch, so concurrent requests changing
///   different keys both win; the same-key operations ([`incr`](Self::incr),
///   [`take`](Self::take), [`push`](Self::push)) are atomic, so they never lose an update.
/// - No write revives a session that ended.
/// - Rotations ([`regenerate_id`](Self::regenerate_id), [`set_user`](Self::set_user),
///   [`clear_user`](Self::clear_user)) give the session a new token and end the old one,
///   keeping its data and handle.
///
/// A store need not be `'static`: [`PostgresStore::on`](crate::PostgresStore::on)'s view
/// borrows its connection. What keeps a store beyond a borrow (a spawned task, the axum layer)
/// asks `S: SessionStore + 'static` itself.
pub trait SessionStore: Clone + Send + Sync {
    /// The session and cookie settings.
    fn config(&self) -> &Config;

    /// The live session named by `id`, sliding its idle deadline when due; `None` when there is
    /// none (including when `id` is not a well-formed token).
    fn load(&self, id: &str) -> impl Future<Output = Result<Option<Session>, Error>> + Send;

    /// Creates the session (giving it a token, with its user and
    /// [lifetime](Session::set_max_age) when set) or saves its changes as one merge patch.
    /// [`Error::NoSession`] when it ended meanwhile.
    fn save(&self, session: &mut Session) -> impl Future<Output = Result<(), Error>> + Send;

    /// Ends the session; whether there was a live one.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Gives the session a new token (same data, user and times); the old token stops
    /// working. [`Error::NoSession`] when it is not live.
    fn regenerate_id(
        &self,
        session: &mut Session,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Logs `user_id` in: sets the user and rotates the token (against session fixation). With
    /// `max_age` ("remember me") the session gets that idle lifetime instead of the configured
    /// one. A session not yet in the store is created for the user. The log-in is recorded at
    /// AAL1 with no methods: [`set_user_with_context`](Self::set_user_with_context) states them.
    fn set_user(
        &self,
        session: &mut Session,
        user_id: i64,
        max_age: Option<Duration>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        self.set_user_with_context(session, user_id, max_age, &auth::UNSTATED)
    }

    /// [`set_user`](Self::set_user), recording how the user authenticated: the assurance level
    /// (AAL1 when not stated) and the methods, with the time of the log-in. With the
    /// extension's `varel_session.aal_timeouts` on, the level caps both of the session's
    /// deadlines (AAL2: 1 hour idle, 24 hours overall; AAL3: 15 minutes, 12 hours). A session
    /// not yet in the store is created for the user and then logged in, so it records them too.
    fn set_user_with_context(
        &self,
        session: &mut Session,
        user_id: i64,
        max_age: Option<Duration>,
        auth: &AuthContext,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The user proved who they are again (a step-up, or before a sensitive operation): rotates
    /// the token, records the time, and the level and methods when `auth` states them (the
    /// session's own otherwise), and restarts both deadlines. An error with SQLSTATE 55000 for
    /// a session without a user; [`Error::NoSession`] when it is not live.
    fn reauthenticate(
        &self,
        session: &mut Session,
        auth: &AuthContext,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Whether the user of the live session named by `id` authenticated (logged in or
    /// re-authenticated) within `within`, at level `min_aal` or above, by the store's clock;
    /// false when the session is not live or has no user.
    fn auth_recent(
        &self,
        id: &str,
        within: Duration,
        min_aal: u8,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Logs the user out but keeps the session and its data; rotates the token.
    fn clear_user(&self, session: &mut Session) -> impl Future<Output = Result<(), Error>> + Send;

    /// Slides the idle deadline now, without `load`'s throttle.
    fn touch(&self, session: &mut Session) -> impl Future<Output = Result<(), Error>> + Send;

    /// Adds `by` to the integer under `key` in one atomic update and returns the new value
    /// (a missing key counts as 0); `None` when there is no live session. A value that is not
    /// an integer is an error with SQLSTATE `22023`.
    fn incr(
        &self,
        id: &str,
        key: &str,
        by: i64,
    ) -> impl Future<Output = Result<Option<i64>, Error>> + Send;

    /// Returns the value under `key` and removes it in the same update: read exactly once.
    /// `None` when there is no such key or session.
    fn take(
        &self,
        id: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Value>, Error>> + Send;

    /// Appends `value` to the array under `key` (creating it), keeping the newest `max_items`
    /// when given; the new length, or `None` when there is no live session.
    fn push(
        &self,
        id: &str,
        key: &str,
        value: &Value,
        max_items: Option<i32>,
    ) -> impl Future<Output = Result<Option<i32>, Error>> + Send;

    /// The handle of the session named by `id` (to mark "this device" in
    /// [`user_sessions`](Self::user_sessions)); `None` when it is not live.
    fn handle(&self, id: &str) -> impl Future<Output = Result<Option<String>, Error>> + Send;

    /// The CSRF token of the live session named by `id`: 64 hex characters derived from the
    /// token, so it changes whenever the token is rotated (log-in, log-out, regenerate);
    /// `None` when the session is not live.
    fn csrf_token(&self, id: &str) -> impl Future<Output = Result<Option<String>, Error>> + Send;

    /// Whether `candidate` is the CSRF token of the live session named by `id`, compared in
    /// constant time; false when the session is not live.
    fn verify_csrf(
        &self,
        id: &str,
        candidate: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Records that the logged-in session named by `id` came from an identity provider's
    /// log-in (the extension's `session_set_idp`); false when it is not live.
    fn set_idp(
        &self,
        id: &str,
        login: &IdpLogin,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Back-channel logout (the extension's `session_revoke_idp`): ends the sessions recorded
    /// for the provider `iss` with session id `sid`, or with only `sub` every session of that
    /// subject; how many live ones ended.
    fn revoke_idp(
        &self,
        iss: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// The user's live sessions, newest first.
    fn user_sessions(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<Vec<UserSession>, Error>> + Send;

    /// Ends one of the user's sessions by handle ("log out that device").
    fn revoke(
        &self,
        user_id: i64,
        handle: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Ends all of the user's sessions except `except_id`'s; how many ended.
    fn revoke_user_sessions(
        &self,
        user_id: i64,
        except_id: Option<&str>,
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Deletes expired sessions; how many.
    fn cleanup(&self) -> impl Future<Output = Result<u64, Error>> + Send;
}
