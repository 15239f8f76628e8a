//! Sealed data (`varel_session.seal_data`): a session's data encrypted under a key derived from
//! its token, which only the token's holder has. The table then holds neither the token (only
//! its hash) nor the data, so a dump, a backup, a replica or an administrator's query shows
//! neither; each call that presents the token opens the data for that call, and writes seal
//! it again.
//!
//! - The key is SHA-256 of a prefix of its own and the token's bytes (a framework id's text),
//!   so neither the stored hash nor anything else in the database leads to it.
//! - The cipher is XChaCha20-Poly1305 (an AEAD) with a random 24-byte nonce per write: a
//!   changed or moved ciphertext does not open (`XX001`), and nonces never repeat in practice.
//! - What is sealed is the data's JSON text, and opening parses it again (`jsonb_in`), so even
//!   the holder of a token, who can make a ciphertext that opens, can only ever hand
//!   PostgreSQL checked JSON.
//! - A sealed document is a JSON string, `"vs1:"` and the base64 of nonce and ciphertext; data
//!   that is not sealed is always an object, so the two never mix up.
//!
//! Reads open sealed data whatever the setting. Writes of the data (and rotations, which
//! re-seal under the new token) seal it while the setting is on and store it open while it is
//! off, so existing rows are sealed at their next such write and unsealed at their next such
//! write after the setting is turned off. Writes of the deadlines alone (slides, `touch`,
//! `set_max_age`) leave the data as it is stored.

use crate::errors;
use crate::gucs;
use crate::jsonb::{self, Document};
use crate::row::Row;
use crate::token::{self, RawToken};
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use pgrx::PgSqlErrorCode;
use sha2::{Digest, Sha256};

/// What a key is derived from, before the token's bytes (or a framework id's text), after a
/// byte of its own for each kind so the two never share a key input. Short enough that a
/// token's key input fits one SHA-256 block.
const KEY_PREFIX: &[u8] = b"varel_session seal:";
/// Bound to every ciphertext: the format's version.
const ASSOCIATED_DATA: &[u8] = b"varel_session sealed data v1";
/// How a sealed document's string starts.
const MARK: &[u8] = b"vs1:";
const NONCE_BYTES: usize = 24;

/// The key that seals one session's data.
pub struct SealKey([u8; 32]);

impl SealKey {
    /// The key of the session named by `id` as a caller presents it: a token (either case) or
    /// a framework id; `None` for anything else (no session).
    pub fn for_id(id: &[u8]) -> Option<SealKey> {
        match token::parse(id) {
            Some(raw) => Some(SealKey::for_token(&raw)),
            None => token::is_framework_id(id).then(|| SealKey::derive(b'f', id)),
        }
    }

    /// The key of a session with the token `raw` (a new session's, a rotation's).
    pub fn for_token(raw: &RawToken) -> SealKey {
        SealKey::derive(b't', raw)
    }

    fn derive(kind: u8, secret: &[u8]) -> SealKey {
        let mut hasher = Sha256::new();
        hasher.update(KEY_PREFIX);
        hasher.update([kind]);
        hasher.update(secret);
        SealKey(hasher.finalize().into())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }
}

/// Whether `data` is sealed.
pub fn is_sealed(data: Document<'_>) -> bool {
    jsonb::string_of(data).is_some_and(|s| s.starts_with(MARK))
}

/// `data` opened with `key` (as it is when it is not sealed). Sealed data that does not open
/// (changed, or moved from another session's row) is an ERROR `XX001`.
pub fn open<'a>(data: Document<'a>, key: &SealKey) -> Document<'a> {
    let Some(sealed) = jsonb::string_of(data).and_then(|s| s.strip_prefix(MARK)) else {
        return data;
    };
    let opened = BASE64
        .decode(sealed)
        .ok()
        .filter(|bytes| bytes.len() > NONCE_BYTES)
        .and_then(|bytes| {
            let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
            let payload = Payload {
                msg: ciphertext,
                aad: ASSOCIATED_DATA,
            };
            key.cipher()
                .decrypt(XNonce::from_slice(nonce), payload)
                .ok()
        });
    match opened {
        Some(text) => jsonb::from_text(&text),
        None => errors::raise_with_hint(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            "the session's sealed data does not open with its token",
            "sealed data was changed, or copied from another session's row",
        ),
    }
}

/// `data` sealed with `key` (a fresh nonce each time).
pub fn seal(data: Document<'_>, key: &SealKey) -> Document<'static> {
    let mut nonce = [0u8; NONCE_BYTES];
    if token::fill_random(&mut nonce).is_err() {
        errors::raise(
            PgSqlErrorCode::ERRCODE_SYSTEM_ERROR,
            "could not read random bytes from the operating system",
        );
    }
    let text = jsonb::to_text(data);
    let payload = Payload {
        msg: &text,
        aad: ASSOCIATED_DATA,
    };
    let ciphertext = key
        .cipher()
        .encrypt(XNonce::from_slice(&nonce), payload)
        .expect("XChaCha20-Poly1305 cannot fail to encrypt an in-memory buffer");
    let mut sealed = MARK.to_vec();
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&ciphertext);
    sealed.extend_from_slice(BASE64.encode(&bytes).as_bytes());
    // jsonb stores a string's length in 28 bits and does not check it when a string is built
    // rather than parsed; the JSON text of data within max_data_bytes can be several times
    // its binary size (a control character prints as six bytes), and base64 adds a third.
    if sealed.len() > gucs::MAX_DATA_BYTES_LIMIT as usize {
        errors::data_too_large(sealed.len(), gucs::MAX_DATA_BYTES_LIMIT);
    }
    jsonb::string_document(&sealed)
}

/// `row` with its data opened when it is sealed, by the key `key_of` gives (derived only then:
/// rows that are not sealed pay nothing).
pub fn opened_with<'r>(row: Row<'r>, key_of: impl FnOnce() -> Option<SealKey>) -> Row<'r> {
    if !row.data_may_be_sealed() {
        return row;
    }
    let Some(data) = row.data().filter(|data| is_sealed(*data)) else {
        return row;
    };
    let Some(key) = key_of() else {
        return row;
    };
    let mut open_row = row;
    open_row.set_data(open(data, &key));
    open_row
}

/// Seals `row`'s data (open, as every write builds it) while the setting is on, with the key
/// `key_of` gives (derived only then: writes pay nothing while sealing is off).
pub fn seal_if_on(row: &mut Row<'_>, key_of: impl FnOnce() -> Option<SealKey>) {
    if !gucs::SEAL_DATA.get() {
        return;
    }
    let Some(data) = row.data().filter(|data| !is_sealed(*data)) else {
        return;
    };
    if let Some(key) = key_of() {
        row.set_data(seal(data, &key));
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;

    fn document(text: &str) -> Document<'static> {
        jsonb::from_text(text.as_bytes())
    }

    #[pg_test]
    fn sealed_data_opens_with_its_key_only() {
        let key = SealKey::for_token(&token::generate().unwrap());
        let other = SealKey::for_token(&token::generate().unwrap());
        let data = document(r#"{"cart": [1, 2, 3], "secret": "hunter2"}"#);
        let sealed = seal(data, &key);
        assert!(is_sealed(sealed) && !is_sealed(data));
        let stored = String::from_utf8(jsonb::to_text(sealed)).unwrap();
        assert!(
            !stored.contains("hunter2") && !stored.contains("cart"),
            "{stored}"
        );
        assert!(open(sealed, &key).same_bytes(data));
        // A fresh nonce each time: the same data never seals to the same bytes.
        assert!(!seal(data, &key).same_bytes(sealed));
        let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open(sealed, &other)));
        assert!(wrong.is_err(), "another session's key must not open it");
    }

    #[pg_test]
    fn a_changed_ciphertext_does_not_open() {
        let key = SealKey::for_token(&token::generate().unwrap());
        let sealed = seal(document(r#"{"n": 1}"#), &key);
        let mut text = jsonb::string_of(sealed).unwrap().to_vec();
        let last = text.len() - 1;
        text[last] = if text[last] == b'A' { b'B' } else { b'A' };
        let changed = jsonb::string_document(&text);
        assert!(
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open(changed, &key))).is_err()
        );
    }

    #[test]
    fn tokens_in_either_case_share_a_key_and_framework_ids_have_their_own() {
        let raw = token::generate().unwrap();
        let lower = token::encode(&raw);
        let upper = lower.to_ascii_uppercase();
        let a = SealKey::for_id(lower.as_bytes()).unwrap();
        let b = SealKey::for_id(upper.as_bytes()).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(a.0, SealKey::for_token(&raw).0);
        let id = "Zm9yLXRvd2VyLXNlc3Npb24";
        assert_ne!(SealKey::for_id(id.as_bytes()).unwrap().0, a.0);
        assert!(SealKey::for_id(b"not a token").is_none());
        // Never the stored hash.
        assert_ne!(a.0, token::hash(&raw));
    }
}
