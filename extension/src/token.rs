//! Session tokens: 32 random bytes from the operating system, shown to the caller once as 64
//! hex characters. Only the SHA-256 of the 32 bytes is ever stored, so a copy of the table (a
//! backup, a replica, a leaked dump) does not let anyone log in.
//!
//! Besides its own tokens, the extension knows **framework ids**: ids a web framework mints
//! itself and hands to the store already made (tower-sessions' 128-bit ids, scs's tokens, PHP's
//! and Laravel's session ids), which `session_adopt` creates a session under. A framework id is
//! 22 to 128 characters of `A-Z a-z 0-9 - _ , .` that is not a token of the extension's own
//! form; it is stored as the SHA-256 of a fixed prefix and the id, so its stored form can never
//! be the hash of a 32-byte token's input. 22 characters is the shortest that carries 128 bits
//! in a URL-safe alphabet. The extension cannot tell how random a framework id is: whoever mints
//! one must take it from a CSPRNG, as every framework the adapters use does.
//!
//! Everything here is pure Rust and never touches the database: a malformed token is rejected
//! before any table lookup.

use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// Bytes of entropy in a token.
pub const TOKEN_BYTES: usize = 32;
/// Length of a token's text form.
pub const TOKEN_HEX_LEN: usize = 2 * TOKEN_BYTES;

/// The raw bytes of a token.
pub type RawToken = [u8; TOKEN_BYTES];
/// SHA-256 of a token's raw bytes: the sessions table's key.
pub type TokenHash = [u8; 32];

/// Fills `out` from the operating system's CSPRNG (`getrandom(2)` on Linux).
///
/// Failure is practically impossible on Linux (the call only blocks before the kernel's pool is
/// first seeded, at boot), so the caller turns an error into an ERROR rather than a fallback.
pub fn fill_random(out: &mut [u8]) -> Result<(), rand::rand_core::OsError> {
    OsRng.try_fill_bytes(out)
}

/// A new token's raw bytes.
pub fn generate() -> Result<RawToken, rand::rand_core::OsError> {
    let mut raw = [0u8; TOKEN_BYTES];
    fill_random(&mut raw)?;
    Ok(raw)
}

/// The token's text form: 64 lowercase hex characters.
pub fn encode(raw: &RawToken) -> String {
    hex::encode(raw)
}

/// Parses a token's text form. Upper- and lower-case hex are the same token; anything else
/// (wrong length, a non-hex character, surrounding spaces) is not a token.
pub fn parse(text: &[u8]) -> Option<RawToken> {
    if text.len() != TOKEN_HEX_LEN {
        return None;
    }
    let mut raw = [0u8; TOKEN_BYTES];
    hex::decode_to_slice(text, &mut raw).ok()?;
    Some(raw)
}

/// The stored form of a token.
pub fn hash(raw: &RawToken) -> TokenHash {
    Sha256::digest(raw).into()
}

/// The shortest framework id: 22 URL-safe characters carry 132 bits.
pub const FRAMEWORK_ID_MIN_LEN: usize = 22;
/// The longest framework id (PHP allows session ids of up to 256 characters; no framework the
/// adapters serve mints more than 64).
pub const FRAMEWORK_ID_MAX_LEN: usize = 128;
/// What a framework id's stored hash is taken over, before the id: 27 bytes, so the hashed
/// input is never 32 bytes long, as a token of the extension's own form is.
const FRAMEWORK_ID_PREFIX: &[u8] = b"varel_session framework id:";

/// Whether `text` has a framework id's form (its own tokens excepted: see the module docs).
pub fn is_framework_id(text: &[u8]) -> bool {
    (FRAMEWORK_ID_MIN_LEN..=FRAMEWORK_ID_MAX_LEN).contains(&text.len())
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b',' | b'.'))
        && parse(text).is_none()
}

/// The stored form of a framework id.
pub fn framework_id_hash(text: &[u8]) -> Option<TokenHash> {
    is_framework_id(text).then(|| {
        let mut hasher = Sha256::new();
        hasher.update(FRAMEWORK_ID_PREFIX);
        hasher.update(text);
        hasher.finalize().into()
    })
}

/// Parses and hashes in one step, a token of the extension's own form or a framework id:
/// `None` means "no session".
pub fn hash_text(text: &[u8]) -> Option<TokenHash> {
    match parse(text) {
        Some(raw) => Some(hash(&raw)),
        None => framework_id_hash(text),
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;

    #[pg_test]
    fn stored_hash_is_sql_sha256_of_the_decoded_token() {
        let raw = generate().unwrap();
        let text = encode(&raw);
        let in_sql: Vec<u8> = Spi::get_one(&format!("SELECT sha256(decode('{text}', 'hex'))"))
            .unwrap()
            .unwrap();
        assert_eq!(in_sql, hash(&raw));
        let upper = text.to_ascii_uppercase();
        let helper: Vec<u8> = Spi::get_one(&format!(
            "SELECT varel_session_internal.token_hash('{upper}')"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(helper, in_sql);
    }

    #[test]
    fn encode_is_64_lowercase_hex_and_round_trips() {
        let raw = generate().unwrap();
        let text = encode(&raw);
        assert_eq!(text.len(), TOKEN_HEX_LEN);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(parse(text.as_bytes()), Some(raw));
    }

    #[test]
    fn upper_case_is_the_same_token() {
        let raw = generate().unwrap();
        let upper = encode(&raw).to_ascii_uppercase();
        assert_eq!(parse(upper.as_bytes()), Some(raw));
        assert_eq!(hash_text(upper.as_bytes()), Some(hash(&raw)));
    }

    #[test]
    fn malformed_text_is_not_a_token() {
        let good = encode(&generate().unwrap());
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            good.as_bytes()[..63].to_vec(),
            format!("{good}0").into_bytes(),
            format!(" {}", &good[1..]).into_bytes(),
            format!("{}g", &good[..63]).into_bytes(),
            format!("{}\0", &good[..63]).into_bytes(),
            "é".repeat(32).into_bytes(),
            b"'; DROP TABLE varel_session.sessions; --".to_vec(),
        ];
        for case in cases {
            assert_eq!(parse(&case), None, "accepted {case:?}");
        }
    }

    #[pg_test]
    fn framework_id_hash_is_sql_sha256_of_the_prefixed_id() {
        let id = "c2Vzc2lvbi1pZC1vZi1zY3MtMzItYnl0ZXM";
        let in_sql: Vec<u8> = Spi::get_one(&format!(
            "SELECT sha256(convert_to('varel_session framework id:' || '{id}', 'UTF8'))"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            hash_text(id.as_bytes()).map(|h| h.to_vec()),
            Some(in_sql.clone())
        );
        let helper: Vec<u8> =
            Spi::get_one(&format!("SELECT varel_session_internal.token_hash('{id}')"))
                .unwrap()
                .unwrap();
        assert_eq!(helper, in_sql);
    }

    #[test]
    fn framework_ids_are_22_to_128_url_safe_characters() {
        let accepted = [
            "A".repeat(22),
            "a".repeat(128),
            "Ab0-_,.".repeat(4),
            // tower-sessions: an i128 in URL-safe base64; scs: 32 bytes in URL-safe base64
            "AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            "c2Vzc2lvbi1pZC1vZi1zY3MtMzItYnl0ZXM".to_owned(),
            // PHP's default: 32 characters of 0-9 a-v; Spring's: a UUID
            "0123456789abcdefghijklmnopqrstuv".to_owned(),
            "123e4567-e89b-12d3-a456-426614174000".to_owned(),
            // 63 and 65 hex characters are not tokens of the extension's own form
            "a".repeat(63),
            "a".repeat(65),
        ];
        for id in &accepted {
            assert!(is_framework_id(id.as_bytes()), "refused {id}");
            assert!(hash_text(id.as_bytes()).is_some());
        }
        let refused: Vec<Vec<u8>> = vec![
            "A".repeat(21).into_bytes(),
            "a".repeat(129).into_bytes(),
            format!("{}=", "A".repeat(22)).into_bytes(),
            format!("{} ", "A".repeat(22)).into_bytes(),
            format!("{}\0", "A".repeat(22)).into_bytes(),
            "é".repeat(22).into_bytes(),
            b"'; DROP TABLE varel_session.sessions; --".to_vec(),
            // the extension's own form is not a framework id (it hashes as a token)
            encode(&generate().unwrap()).into_bytes(),
        ];
        for id in &refused {
            assert!(!is_framework_id(id), "accepted {id:?}");
        }
    }

    #[test]
    fn a_framework_id_never_hashes_like_a_token() {
        // Case matters in a framework id, not in a token.
        let lower = "abcdefghijklmnopqrstuvwxyz";
        let upper = lower.to_ascii_uppercase();
        assert_ne!(hash_text(lower.as_bytes()), hash_text(upper.as_bytes()));
        let token = encode(&generate().unwrap());
        assert_eq!(
            hash_text(token.as_bytes()),
            hash_text(token.to_ascii_uppercase().as_bytes())
        );
        // The prefixed input is never 32 bytes, the length of a token's.
        assert_ne!(
            FRAMEWORK_ID_PREFIX.len() + FRAMEWORK_ID_MIN_LEN,
            TOKEN_BYTES
        );
        assert!(FRAMEWORK_ID_PREFIX.len() + FRAMEWORK_ID_MIN_LEN > TOKEN_BYTES);
    }

    #[test]
    fn hash_is_sha256_of_the_raw_bytes() {
        // SHA-256 of 32 zero bytes, from `sha256sum` of /dev/zero's first 32 bytes.
        let expected = "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925";
        assert_eq!(hex::encode(hash(&[0u8; 32])), expected);
    }

    /// A million generated inputs: random bytes, random text, hex of every length, and valid
    /// tokens with one byte changed. `parse` accepts exactly the 64-hex-character strings, and
    /// what it accepts encodes back to the same (lower-cased) text.
    #[test]
    fn parse_accepts_exactly_64_hex_characters() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let inputs = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..130),
            any::<String>().prop_map(String::into_bytes),
            "[0-9a-fA-F]{0,70}".prop_map(String::into_bytes),
            (any::<[u8; 32]>(), 0..64usize, any::<u8>()).prop_map(|(raw, at, byte)| {
                let mut text = hex::encode(raw).into_bytes();
                text[at] = byte;
                text
            }),
        ];
        let config = Config {
            cases: 1_000_000,
            failure_persistence: None,
            ..Config::default()
        };
        TestRunner::new(config)
            .run(&inputs, |input| {
                let well_formed =
                    input.len() == TOKEN_HEX_LEN && input.iter().all(u8::is_ascii_hexdigit);
                match parse(&input) {
                    Some(raw) => {
                        prop_assert!(well_formed);
                        prop_assert_eq!(encode(&raw).into_bytes(), input.to_ascii_lowercase());
                    }
                    None => prop_assert!(!well_formed),
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn generated_tokens_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(generate().unwrap()));
        }
    }
}
