//! What a handler asked to happen to the session's identity, applied when the response goes out.

use std::time::Duration;

/// The one pending change of the session's identity in a request. Data changes are recorded in
/// the [`Session`](crate::Session) itself; these are the calls that rotate or end it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum PendingAction {
    /// Nothing beyond data changes.
    #[default]
    Keep,
    /// Log the user in (rotates the token); `max_age` is "remember me".
    LogIn {
        user_id: i64,
        max_age: Option<Duration>,
    },
    /// Log the user out, keeping the session and its data (rotates the token).
    LogOut,
    /// A new token, nothing else.
    Regenerate,
    /// Delete the session and tell the client to forget the token.
    Destroy,
}

impl PendingAction {
    /// The action after a handler asks for `next`: the later call wins, except that a
    /// destroyed session stays destroyed for the rest of the request, and a regenerate adds
    /// nothing to a log-in or log-out, which rotate the token anyway.
    pub(crate) fn then(self, next: PendingAction) -> PendingAction {
        match (self, next) {
            (PendingAction::Destroy, _) => PendingAction::Destroy,
            (PendingAction::LogIn { .. } | PendingAction::LogOut, PendingAction::Regenerate) => {
                self
            }
            (_, next) => next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PendingAction::*;

    #[test]
    fn the_later_call_wins_but_destroy_stays_and_regenerate_adds_nothing_to_a_rotation() {
        let log_in = LogIn {
            user_id: 7,
            max_age: None,
        };
        assert_eq!(Keep.then(log_in), log_in);
        assert_eq!(log_in.then(LogOut), LogOut);
        assert_eq!(LogOut.then(log_in), log_in);
        assert_eq!(log_in.then(Regenerate), log_in);
        assert_eq!(LogOut.then(Regenerate), LogOut);
        assert_eq!(Regenerate.then(log_in), log_in);
        assert_eq!(Keep.then(Regenerate), Regenerate);
        assert_eq!(log_in.then(Destroy), Destroy);
        assert_eq!(Destroy.then(log_in), Destroy);
        assert_eq!(Destroy.then(Keep), Destroy);
    }
}
