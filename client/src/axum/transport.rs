//! Where the token is read from in a request and written to in a response, per
//! [`Transport`].

use crate::config::{Config, Transport, TOKEN_HEADER};
use crate::cookies;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;

/// What the response tells the client about its token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenUpdate {
    /// Keep (or start keeping) `token`; `max_age` for a persistent cookie, `None` for one that
    /// ends with the browser.
    Issue {
        token: String,
        max_age: Option<Duration>,
    },
    /// Forget the token: the session ended.
    Remove,
}

/// The token the request carries, or `None`. Anything malformed (a broken header, a value that
/// is not 64 hex characters, another authorization scheme) is no session, never an error.
pub(crate) fn token_from_request(config: &Config, headers: &HeaderMap) -> Option<String> {
    match &config.transport {
        Transport::Cookie => cookies::token_from_cookie_headers(
            config,
            headers.get_all(COOKIE).iter().map(HeaderValue::as_bytes),
        ),
        Transport::Bearer => headers
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|value| bearer_token(value.as_bytes()))
            .find(|token| cookies::is_token(token)),
        Transport::Header(name) => headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::trim)
            .find(|token| cookies::is_token(token))
            .map(str::to_owned),
    }
}

/// The credentials of an `Authorization: Bearer <token>` value (the scheme is
/// case-insensitive, RFC 9110).
fn bearer_token(value: &[u8]) -> Option<String> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim().to_owned())
}

/// Adds the header that carries `update` to a response.
pub(crate) fn write_update(
    config: &Config,
    https: bool,
    update: TokenUpdate,
    headers: &mut HeaderMap,
) {
    let (name, value) = match (&config.transport, update) {
        (Transport::Cookie, TokenUpdate::Issue { token, max_age }) => (
            SET_COOKIE,
            cookies::session_cookie(config, &token, max_age, https),
        ),
        (Transport::Cookie, TokenUpdate::Remove) => {
            (SET_COOKIE, cookies::removal_cookie(config, https))
        }
        (Transport::Bearer, update) => (HeaderName::from_static(TOKEN_HEADER), value_of(update)),
        (Transport::Header(name), update) => match HeaderName::try_from(name.as_str()) {
            Ok(name) => (name, value_of(update)),
            // Config::validate refused such a name already.
            Err(_) => return,
        },
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.append(name, value);
    }
}

fn value_of(update: TokenUpdate) -> String {
    match update {
        TokenUpdate::Issue { token, .. } => token,
        TokenUpdate::Remove => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::try_from(*name).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn bearer_reads_only_well_formed_bearer_tokens() {
        let config = Config {
            transport: Transport::Bearer,
            ..Config::default()
        };
        let read = |value: &str| {
            token_from_request(&config, &headers(&[("authorization", value.as_bytes())]))
        };
        assert_eq!(read(&format!("Bearer {TOKEN}")), Some(TOKEN.into()));
        assert_eq!(read(&format!("bearer  {TOKEN} ")), Some(TOKEN.into()));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            &format!("Basic {TOKEN}"),
            &format!("Bearer {TOKEN}0"),
            &format!("Bearer{TOKEN}"),
            "Bearer zz",
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
        // A cookie is not read when the transport is a header.
        let cookie = format!("varel_session={TOKEN}");
        assert_eq!(
            token_from_request(&config, &headers(&[("cookie", cookie.as_bytes())])),
            None
        );
        // Invalid UTF-8 is no session, not a panic.
        assert_eq!(
            token_from_request(&config, &headers(&[("authorization", b"Bearer \xff")])),
            None
        );
    }

    #[test]
    fn a_named_header_carries_the_token_both_ways() {
        let config = Config {
            transport: Transport::Header("x-session-token".into()),
            ..Config::default()
        };
        assert_eq!(
            token_from_request(&config, &headers(&[("x-session-token", TOKEN.as_bytes())])),
            Some(TOKEN.into())
        );
        assert_eq!(
            token_from_request(&config, &headers(&[("x-session-token", b"nope")])),
            None
        );
        let mut response = HeaderMap::new();
        let issue = TokenUpdate::Issue {
            token: TOKEN.into(),
            max_age: None,
        };
        write_update(&config, false, issue, &mut response);
        write_update(&config, false, TokenUpdate::Remove, &mut response);
        let values: Vec<_> = response.get_all("x-session-token").iter().collect();
        assert_eq!(values, [TOKEN, ""]);
        assert!(response.get(SET_COOKIE).is_none());
    }

    #[test]
    fn cookies_without_max_age_end_with_the_browser() {
        let mut response = HeaderMap::new();
        let issue = TokenUpdate::Issue {
            token: TOKEN.into(),
            max_age: None,
        };
        write_update(&Config::default(), false, issue, &mut response);
        let cookie = response.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(cookie.starts_with(&format!("varel_session={TOKEN}")));
        assert!(!cookie.contains("Max-Age") && !cookie.contains("Expires"));
    }
}
