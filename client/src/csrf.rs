//! CSRF tokens as the extension derives them (`session_csrf_token`, sql/csrf.sql), for the
//! [`MemoryStore`](crate::MemoryStore), which has to give the same tokens without a server.

use sha2::{Digest, Sha256};

/// The CSRF token of a session token: SHA-256 of the extension's prefix and the token, as 64
/// lowercase hex characters.
pub(crate) fn token_for(id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"varel_session csrf token:")
        .chain_update(id.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `candidate` equals `expected`, in time that depends on neither: both are hashed
/// first, as the extension does, and the hashes compared.
pub(crate) fn matches(expected: &str, candidate: &str) -> bool {
    Sha256::digest(expected.as_bytes()) == Sha256::digest(candidate.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_session_and_hex() {
        let a = token_for(&"a".repeat(64));
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, token_for(&"b".repeat(64)));
    }

    #[test]
    fn only_the_same_token_matches() {
        let a = token_for(&"a".repeat(64));
        assert!(matches(&a, &a));
        assert!(!matches(&a, &a[..63]));
        assert!(!matches(&a, &a.to_uppercase()));
        assert!(!matches(&a, ""));
    }
}
