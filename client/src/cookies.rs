//! The session cookie: writing it with exactly the configured attributes, removing it, and
//! reading the token from a `Cookie` header.

use crate::config::{Config, SameSite};
use cookie::Cookie;
use std::time::Duration;

/// The `Set-Cookie` value carrying `token`, valid for `max_age` (the time left until the
/// session's idle deadline on the server), or until the browser closes when `max_age` is
/// `None` ([`Config::browser_session`]). `secure` is the request's decision when
/// [`Config::secure`] is unset.
pub fn session_cookie(
    config: &Config,
    token: &str,
    max_age: Option<Duration>,
    secure: bool,
) -> String {
    let mut cookie = base(config, secure, token.to_owned());
    if let Some(max_age) = max_age {
        cookie.set_max_age(time::Duration::try_from(max_age).unwrap_or(time::Duration::MAX));
    }
    cookie.to_string()
}

/// The `Set-Cookie` value that makes the browser drop the session cookie (same name, path and
/// domain, empty value, `Max-Age=0`).
pub fn removal_cookie(config: &Config, secure: bool) -> String {
    let mut cookie = base(config, secure, String::new());
    cookie.set_max_age(time::Duration::ZERO);
    cookie.to_string()
}

fn base(config: &Config, secure: bool, value: String) -> Cookie<'static> {
    let mut cookie = Cookie::new(config.cookie_name.clone(), value);
    cookie.set_http_only(config.http_only);
    cookie.set_secure(config.secure_for(secure));
    cookie.set_same_site(match config.same_site {
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::None => cookie::SameSite::None,
    });
    cookie.set_path(config.path.clone());
    if let Some(domain) = &config.domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

/// The session token from the values of a request's `Cookie` headers, or `None`.
///
/// Anything malformed (a broken header, a cookie that is not 64 hex characters) means "no
/// session", never an error: the browser is untrusted input.
pub fn token_from_cookie_headers<'a>(
    config: &Config,
    headers: impl IntoIterator<Item = &'a [u8]>,
) -> Option<String> {
    headers
        .into_iter()
        .filter_map(|raw| std::str::from_utf8(raw).ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == config.cookie_name)
        .map(|cookie| cookie.value().to_owned())
        .find(|value| is_token(value))
}

/// A session token's shape: 64 hex characters.
pub fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parts(set_cookie: &str) -> Vec<String> {
        let mut parts: Vec<String> = set_cookie.split("; ").map(str::to_owned).collect();
        parts.sort();
        parts
    }

    #[test]
    fn default_cookie_has_exactly_the_safe_attributes() {
        let config = Config::default();
        let header = session_cookie(&config, TOKEN, Some(Duration::from_secs(86_400)), false);
        assert_eq!(
            parts(&header),
            parts(&format!(
                "varel_session={TOKEN}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400"
            ))
        );
        let https = session_cookie(&config, TOKEN, Some(Duration::from_secs(60)), true);
        assert!(parts(&https).contains(&"Secure".to_owned()), "{https}");
    }

    #[test]
    fn every_config_variant_shows_up_in_the_cookie() {
        let config = Config {
            cookie_name: "__Host-sid".into(),
            http_only: false,
            secure: Some(true),
            same_site: SameSite::None,
            ..Config::default()
        };
        let header = session_cookie(&config, TOKEN, Some(Duration::from_secs(90)), false);
        assert_eq!(
            parts(&header),
            parts(&format!(
                "__Host-sid={TOKEN}; Secure; SameSite=None; Path=/; Max-Age=90"
            ))
        );

        let config = Config {
            domain: Some("example.com".into()),
            path: "/app".into(),
            same_site: SameSite::Lax,
            secure: Some(false),
            ..Config::default()
        };
        let header = session_cookie(&config, TOKEN, Some(Duration::from_secs(5)), true);
        assert_eq!(
            parts(&header),
            parts(&format!(
                "varel_session={TOKEN}; HttpOnly; SameSite=Lax; Path=/app; Domain=example.com; Max-Age=5"
            ))
        );
    }

    #[test]
    fn removal_cookie_matches_name_path_and_domain() {
        let config = Config {
            domain: Some("example.com".into()),
            path: "/app".into(),
            ..Config::default()
        };
        let header = removal_cookie(&config, true);
        assert_eq!(
            parts(&header),
            parts("varel_session=; HttpOnly; SameSite=Strict; Secure; Path=/app; Domain=example.com; Max-Age=0")
        );
    }

    #[test]
    fn reads_the_token_and_ignores_everything_malformed() {
        let config = Config::default();
        let read = |headers: &[&str]| {
            token_from_cookie_headers(&config, headers.iter().map(|h| h.as_bytes()))
        };
        assert_eq!(
            read(&[&format!("a=1; varel_session={TOKEN}; b=2")]),
            Some(TOKEN.into())
        );
        assert_eq!(
            read(&["a=1", &format!("varel_session={TOKEN}")]),
            Some(TOKEN.into())
        );
        let upper = TOKEN.to_uppercase();
        assert_eq!(
            read(&[&format!("varel_session={upper}")]),
            Some(upper.clone())
        );
        for bad in [
            "",
            "varel_session=",
            "varel_session=short",
            &format!("varel_session={TOKEN}0"),
            &format!("varel_session={}g", &TOKEN[..63]),
            &format!("other={TOKEN}"),
            ";;;=;=",
            "varel_session=\"quoted\"",
            &format!("varel_session={}", "é".repeat(32)),
        ] {
            assert_eq!(read(&[bad]), None, "{bad:?}");
        }
        // Invalid UTF-8 is no session, not a panic.
        let raw: &[u8] = b"varel_session=\xff\xfe";
        assert_eq!(token_from_cookie_headers(&config, [raw]), None);
        // A malformed cookie next to a good one does not hide the good one.
        assert_eq!(
            read(&[&format!("varel_session=bad; varel_session={TOKEN}")]),
            Some(TOKEN.into())
        );
    }
}
