//! A session as the application sees it, with its unsaved changes.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::time::Duration;
use time::OffsetDateTime;

/// One session: its token, its data (string keys, JSON values), its user, its times.
///
/// Changes to the data are recorded as they are made and saved as one merge patch
/// (`session_set(id, patch)`), so two concurrent requests that change different keys both
/// win: the server applies each patch to the newest version of the row.
///
/// ```
/// use varel_session_client::Session;
///
/// let mut session = Session::new();
/// session.set("cart", 3);
/// session.set("theme", "dark");
/// session.delete("theme");
/// assert_eq!(session.get_as::<i64>("cart"), Some(3));
/// assert_eq!(session.patch(), Some(serde_json::json!({"cart": 3, "theme": null})));
/// assert!(!session.is_saved());
/// // Its Debug form never shows the token.
/// assert!(format!("{session:?}").contains("id: None"));
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Session {
    pub(crate) id: Option<String>,
    pub(crate) data: Map<String, Value>,
    pub(crate) user_id: Option<i64>,
    pub(crate) created_at: Option<OffsetDateTime>,
    pub(crate) updated_at: Option<OffsetDateTime>,
    pub(crate) expires_at: Option<OffsetDateTime>,
    pub(crate) changes: Map<String, Value>,
    pub(crate) cleared: bool,
    /// Set by a load that slid the idle deadline (the cookie's Max-Age should follow).
    pub(crate) refreshed: bool,
    /// Time left until the idle deadline, by the server's clock, as of the last load or save.
    pub(crate) ttl: Option<Duration>,
    /// The session's own idle lifetime when it is not the configured one ("remember me"):
    /// used when the session is created or logged in.
    pub(crate) max_age: Option<Duration>,
    /// Recorded at creation, for "your devices" lists.
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) client_agent: Option<String>,
    /// The last log-in's or re-authentication's authentication context, as of the last load
    /// or rotation in this process.
    pub(crate) authenticated_at: Option<OffsetDateTime>,
    pub(crate) aal: Option<u8>,
    pub(crate) amr: Option<Vec<String>>,
    /// How long before the last load the user authenticated, by the server's clock.
    pub(crate) authenticated_ago: Option<Duration>,
}

/// Everything but the token, which must not reach logs.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id.as_ref().map(|_| "<token>"))
            .field("data", &self.data)
            .field("user_id", &self.user_id)
            .field("aal", &self.aal)
            .field("expires_at", &self.expires_at)
            .field("changes", &self.changes)
            .field("cleared", &self.cleared)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session, not yet in the store: it gets its token when first saved.
    pub fn new() -> Session {
        Session::default()
    }

    /// Records the client's address and user agent, stored when the session is created (for
    /// "your devices" lists).
    pub fn record_client(&mut self, ip: Option<IpAddr>, user_agent: Option<String>) {
        self.client_ip = ip;
        self.client_agent = user_agent;
    }

    /// Gives a session that is not yet in the store its own idle lifetime instead of
    /// [`Config::max_age`](crate::Config::max_age), for "remember me" (a session already in
    /// the store gets one at log-in: [`SessionStore::set_user`](crate::SessionStore::set_user)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use varel_session_client::Session;
    ///
    /// let mut session = Session::new();
    /// session.set_max_age(Duration::from_secs(30 * 24 * 3600));
    /// assert_eq!(session.max_age(), Some(Duration::from_secs(2_592_000)));
    /// ```
    pub fn set_max_age(&mut self, max_age: Duration) {
        self.max_age = Some(max_age);
    }

    /// The session's own idle lifetime, when it was given one in this process
    /// ([`set_max_age`](Self::set_max_age) or a log-in with one).
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// Time left until the idle deadline, by the server's clock, as of the last load or save:
    /// what a cookie's `Max-Age` should be.
    pub fn time_to_live(&self) -> Option<Duration> {
        self.ttl
    }

    /// Whether the load that returned this session slid its idle deadline.
    pub fn was_refreshed(&self) -> bool {
        self.refreshed
    }

    /// The token, once the session is in the store. Send it only in the cookie.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// All data, including unsaved changes.
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The logged-in user, if any.
    pub fn user_id(&self) -> Option<i64> {
        self.user_id
    }

    /// When the session was created.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        self.created_at
    }

    /// When `data` or `user_id` last changed in the store.
    pub fn updated_at(&self) -> Option<OffsetDateTime> {
        self.updated_at
    }

    /// The idle deadline, as of the last load or save.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// One value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// One value, deserialized; `None` when missing or of another shape.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.get(key).and_then(|v| T::deserialize(v).ok())
    }

    /// Sets one value (recorded for the next save). JSON `null` removes the key, as in the
    /// merge patch that saves it.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let (key, value) = (key.into(), value.into());
        if value.is_null() {
            self.delete(&key);
            return;
        }
        self.data.insert(key.clone(), value.clone());
        self.changes.insert(key, value);
    }

    /// Removes one key (recorded for the next save); returns its value.
    pub fn delete(&mut self, key: &str) -> Option<Value> {
        self.changes.insert(key.to_owned(), Value::Null);
        self.data.remove(key)
    }

    /// Removes every key, including ones other requests may have added meanwhile.
    pub fn clear(&mut self) {
        self.data.clear();
        self.changes.clear();
        self.cleared = true;
    }

    /// Whether the idle deadline has passed by this machine's clock. The server's clock is
    /// the one that counts: an expired session is simply not found.
    pub fn is_expired(&self) -> bool {
        self.expires_at
            .is_some_and(|deadline| deadline <= OffsetDateTime::now_utc())
    }

    /// Whether a user is logged in.
    pub fn is_authenticated(&self) -> bool {
        self.user_id.is_some()
    }

    /// When the user last logged in or re-authenticated (recorded by the extension from 0.4.0
    /// on); `None` without a user, or for a session logged in before.
    pub fn authenticated_at(&self) -> Option<OffsetDateTime> {
        self.authenticated_at
    }

    /// The assurance level (1 to 3, NIST SP 800-63B-4) of that authentication.
    pub fn aal(&self) -> Option<u8> {
        self.aal
    }

    /// The authentication methods of that authentication (RFC 8176 names), when stated.
    pub fn amr(&self) -> Option<&[String]> {
        self.amr.as_deref()
    }

    /// Whether the user authenticated within `within` before the last load (by the server's
    /// clock), at level `min_aal` or above: "may this request do a sensitive operation".
    /// [`SessionStore::auth_recent`](crate::SessionStore::auth_recent) asks the store instead.
    pub fn authenticated_within(&self, within: Duration, min_aal: u8) -> bool {
        self.user_id.is_some()
            && self.authenticated_ago.is_some_and(|ago| ago <= within)
            && self.aal.is_some_and(|aal| aal >= min_aal)
    }

    /// Records a log-in or re-authentication made just now in this process.
    pub(crate) fn record_authentication(&mut self, aal: Option<u8>, amr: Option<Vec<String>>) {
        self.authenticated_at = Some(OffsetDateTime::now_utc());
        self.authenticated_ago = Some(Duration::ZERO);
        self.aal = aal;
        self.amr = amr;
    }

    /// Forgets the authentication context (a log-out).
    pub(crate) fn forget_authentication(&mut self) {
        self.authenticated_at = None;
        self.authenticated_ago = None;
        self.aal = None;
        self.amr = None;
    }

    /// Whether the session is in the store with no unsaved changes.
    pub fn is_saved(&self) -> bool {
        self.id.is_some() && !self.is_modified()
    }

    /// Whether there are changes to save.
    pub fn is_modified(&self) -> bool {
        self.cleared || !self.changes.is_empty()
    }

    /// The unsaved changes as a merge patch (`null` removes a key); `None` when there are
    /// none. A [`clear`](Self::clear) is saved separately, before the patch.
    pub fn patch(&self) -> Option<Value> {
        (!self.changes.is_empty()).then(|| Value::Object(self.changes.clone()))
    }

    /// Forgets the recorded changes once they are saved.
    pub(crate) fn mark_saved(&mut self) {
        self.changes.clear();
        self.cleared = false;
    }
}
