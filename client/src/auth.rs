//! How a user proved who they are: the authentication context a log-in or re-authentication
//! records with the session (the extension's `aal` and `amr`), for "may this request do a
//! sensitive operation" checks and NIST SP 800-63B-4's per-level timeouts
//! (`varel_session.aal_timeouts`).

use crate::error::Error;

/// What a log-in ([`SessionStore::set_user_with_context`](crate::SessionStore)) or a
/// re-authentication ([`SessionStore::reauthenticate`](crate::SessionStore)) states about how
/// the user authenticated.
///
/// ```
/// use varel_session_client::AuthContext;
///
/// // A password and a one-time code: AAL2.
/// let login = AuthContext::new(2, ["pwd", "otp"]);
/// assert_eq!(login.aal, Some(2));
/// assert!(login.check().is_ok());
/// assert!(AuthContext::new(4, ["pwd"]).check().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthContext {
    /// The authenticator assurance level, 1 to 3 (NIST SP 800-63B-4). `None`: 1 at a log-in,
    /// the session's own at a re-authentication.
    pub aal: Option<u8>,
    /// The authentication methods, as RFC 8176 names them (`pwd`, `otp`, `hwk`, `face`, ...).
    /// `None`: none at a log-in, the session's own at a re-authentication.
    pub amr: Option<Vec<String>>,
}

impl AuthContext {
    /// Nothing stated: a log-in at AAL1, or a re-authentication at the session's level.
    pub const UNSTATED: AuthContext = AuthContext {
        aal: None,
        amr: None,
    };

    /// A level and the methods that reached it.
    pub fn new<M: Into<String>>(aal: u8, amr: impl IntoIterator<Item = M>) -> AuthContext {
        AuthContext {
            aal: Some(aal),
            amr: Some(amr.into_iter().map(Into::into).collect()),
        }
    }

    /// What the extension would refuse: a level other than 1, 2 or 3 (22023).
    pub fn check(&self) -> Result<(), Error> {
        match self.aal {
            Some(aal) if !(1..=3).contains(&aal) => {
                Err(Error::invalid("22023", "aal must be 1, 2 or 3".into()))
            }
            _ => Ok(()),
        }
    }

    /// The level a log-in with this context is recorded at.
    pub(crate) fn log_in_level(&self) -> u8 {
        self.aal.unwrap_or(1)
    }
}

/// [`AuthContext::UNSTATED`] with a `'static` address, for the default log-in.
pub(crate) static UNSTATED: AuthContext = AuthContext::UNSTATED;

/// The raise for a re-authentication of a session without a user, as the extension's.
pub(crate) fn no_user_to_reauthenticate() -> Error {
    Error::invalid(
        "55000",
        "session_reauthenticate needs a session with a user".into(),
    )
}
