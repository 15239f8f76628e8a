//! What a handler asked to happen to the session's identity, applied when the response goes out.

use crate::AuthContext;
use std::time::Duration;

/// The one pending change of the session's identity in a request. Data changes are recorded in
/// the [`Session`](crate::Session) itself; these are the calls that rotate or end it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum PendingAction {
    /// Nothing beyond data changes.
    #[default]
    Keep,
    /// Log the user in (rotates the token); `max_age` is "remember me", `auth` how the user
    /// authenticated.
    LogIn {
        user_id: i64,
        max_age: Option<Duration>,
        auth: AuthContext,
    },
    /// The logged-in user authenticated again (rotates the token).
    Reauthenticate(AuthContext),
    /// Log the user out, keeping the session and its data (rotates the token).
    LogOut,
    /// A new token, nothing else.
    Regenerate,
    /// Delete the session and tell the client to forget the token.
    Destroy,
}

impl PendingAction {
    /// The action after a handler asks for `next`: the later call wins, except that a
    /// destroyed session stays destroyed for the rest of the request, a regenerate adds
    /// nothing to a log-in, log-out or re-authentication, which rotate the token anyway, and a
    /// re-authentication after a log-in is that log-in with the newer context.
    pub(crate) fn then(self, next: PendingAction) -> PendingAction {
        use PendingAction::*;
        match (self, next) {
            (Destroy, _) => Destroy,
            (current @ (LogIn { .. } | LogOut | Reauthenticate(_)), Regenerate) => current,
            (
                LogIn {
                    user_id,
                    max_age,
                    auth,
                },
                Reauthenticate(newer),
            ) => LogIn {
                user_id,
                max_age,
                auth: AuthContext {
                    aal: newer.aal.or(auth.aal),
                    amr: newer.amr.or(auth.amr),
                },
            },
            (_, next) => next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PendingAction::*;
    use crate::AuthContext;

    #[test]
    fn the_later_call_wins_but_destroy_stays_and_regenerate_adds_nothing_to_a_rotation() {
        let log_in = LogIn {
            user_id: 7,
            max_age: None,
            auth: AuthContext::UNSTATED,
        };
        let log_in = || log_in.clone();
        let step_up = || Reauthenticate(AuthContext::new(2, ["otp"]));
        assert_eq!(Keep.then(log_in()), log_in());
        assert_eq!(log_in().then(LogOut), LogOut);
        assert_eq!(LogOut.then(log_in()), log_in());
        assert_eq!(log_in().then(Regenerate), log_in());
        assert_eq!(LogOut.then(Regenerate), LogOut);
        assert_eq!(Regenerate.then(log_in()), log_in());
        assert_eq!(Keep.then(Regenerate), Regenerate);
        assert_eq!(log_in().then(Destroy), Destroy);
        assert_eq!(Destroy.then(log_in()), Destroy);
        assert_eq!(Destroy.then(Keep), Destroy);
        assert_eq!(Keep.then(step_up()), step_up());
        assert_eq!(step_up().then(Regenerate), step_up());
        assert_eq!(step_up().then(LogOut), LogOut);
        assert_eq!(Destroy.then(step_up()), Destroy);
        assert_eq!(
            log_in().then(step_up()),
            LogIn {
                user_id: 7,
                max_age: None,
                auth: AuthContext::new(2, ["otp"]),
            }
        );
    }
}
