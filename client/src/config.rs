//! Session and cookie settings, and the checks that keep them safe.

use std::time::Duration;

/// The cookie's `SameSite` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not on their sub-requests.
    Lax,
    /// Never sent on requests started by other sites (the default).
    Strict,
    /// Sent everywhere; browsers require `Secure` with it.
    None,
}

/// How the token travels between the client and the app.
///
/// ```
/// use varel_session_client::{Config, Transport};
///
/// // An API for mobile clients: `Authorization: Bearer <token>` in, `session-token` out.
/// let api = Config { transport: Transport::Bearer, ..Config::default() };
/// api.validate().unwrap();
/// // A named header both ways.
/// let header = Config { transport: Transport::Header("x-session-token".into()), ..Config::default() };
/// header.validate().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// In the session cookie (the default), written with the cookie settings of [`Config`].
    Cookie,
    /// In requests as `Authorization: Bearer <token>`, for API and mobile clients; a new token
    /// (creation, rotation) goes out in the response header [`TOKEN_HEADER`], an empty value of
    /// which means "forget the token" (the session ended).
    Bearer,
    /// In the named header both ways (e.g. `"x-session-token"`): read from the request, a new
    /// token written to the response, empty when the session ended.
    Header(String),
}

/// The response header that carries a new token with [`Transport::Bearer`].
pub const TOKEN_HEADER: &str = "session-token";

/// How sessions are kept and how their cookie is written.
///
/// The defaults are the safe ones: cookie `varel_session`, 24-hour idle lifetime, `HttpOnly`,
/// `SameSite=Strict`, path `/`, `Secure` decided per request (set on HTTPS). Check a
/// configuration with [`Config::validate`] (the store and the layer do it for you).
///
/// ```
/// use std::time::Duration;
/// use varel_session_client::{Config, SameSite};
///
/// let config = Config {
///     cookie_name: "__Host-session".into(),
///     secure: Some(true),
///     same_site: SameSite::Lax,
///     max_age: Duration::from_secs(8 * 3600),
///     ..Config::default()
/// };
/// config.validate().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Name of the cookie that carries the token.
    pub cookie_name: String,
    /// Idle lifetime: a session unused for this long ends. Also the cookie's `Max-Age`.
    pub max_age: Duration,
    /// `HttpOnly`: scripts in the page cannot read the cookie.
    pub http_only: bool,
    /// `Secure`: `Some(true)` always, `Some(false)` never, `None` decided per request (set when
    /// the request came over HTTPS, or with `X-Forwarded-Proto: https` when
    /// [`trust_proxy`](Self::trust_proxy) is set).
    pub secure: Option<bool>,
    /// The cookie's `SameSite` attribute.
    pub same_site: SameSite,
    /// The cookie's `Domain`; `None` keeps the cookie to the exact host (safer).
    pub domain: Option<String>,
    /// The cookie's `Path`.
    pub path: String,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-For` (only behind a proxy you run, which
    /// overwrites them).
    pub trust_proxy: bool,
    /// Re-send the cookie with a fresh `Max-Age` whenever the server slid the session's idle
    /// deadline, so the browser keeps the cookie as long as the server keeps the session.
    pub rolling: bool,
    /// Write cookies without `Max-Age`, so the browser drops them when it closes (a "browser
    /// session" cookie). The server's idle and absolute deadlines still apply: a session ends
    /// at the first of browser close, idle timeout, absolute deadline. Sessions given a longer
    /// lifetime at log-in ("remember me") still get a persistent cookie.
    pub browser_session: bool,
    /// How the token travels: cookie (default), bearer header or a named header.
    pub transport: Transport,
    /// Save what a handler changed even when its response is a server error (5xx). Off by
    /// default, as in Django: a failed request leaves the session as it was. Same-key
    /// operations (`incr`, `take`, `push`) are applied when called and stay applied.
    pub save_on_server_error: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cookie_name: "varel_session".into(),
            max_age: Duration::from_secs(24 * 60 * 60),
            http_only: true,
            secure: None,
            same_site: SameSite::Strict,
            domain: None,
            path: "/".into(),
            trust_proxy: false,
            rolling: true,
            browser_session: false,
            transport: Transport::Cookie,
            save_on_server_error: false,
        }
    }
}

/// Browsers keep no cookie longer than 400 days (RFC 6265bis).
pub const MAX_COOKIE_AGE: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// Why a [`Config`] was rejected; each message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The cookie name is empty or has characters browsers do not accept in a name.
    #[error(
        "cookie_name {0:?} is not a valid cookie name: use letters, digits and !#$%&'*+-.^_`|~"
    )]
    InvalidCookieName(String),
    /// `max_age` is zero.
    #[error("max_age must be positive")]
    NonPositiveMaxAge,
    /// `max_age` is longer than browsers keep a cookie.
    #[error("max_age must be at most 400 days: browsers keep no cookie longer")]
    MaxAgeTooLong,
    /// `SameSite=None` without `secure = Some(true)`.
    #[error("SameSite=None needs secure = Some(true): browsers reject SameSite=None cookies without Secure")]
    SameSiteNoneWithoutSecure,
    /// The path does not start with `/` or has forbidden characters.
    #[error("path {0:?} must start with '/' and contain no ';' or control characters")]
    InvalidPath(String),
    /// The domain is not a plain host name.
    #[error(
        "domain {0:?} is not a host name: no scheme, port, path, spaces, ';' or control characters"
    )]
    InvalidDomain(String),
    /// A `__Host-` name without `Secure`, with a domain, or with a path other than `/`.
    #[error("a __Host- cookie needs secure = Some(true), path \"/\" and no domain")]
    HostPrefixRules,
    /// A `__Secure-` name without `Secure`.
    #[error("a __Secure- cookie needs secure = Some(true)")]
    SecurePrefixRules,
    /// [`Transport::Header`] names no valid header, or one with a meaning of its own.
    #[error("transport header {0:?} must be a lowercase header name (letters, digits, '-') other than cookie, set-cookie and authorization")]
    InvalidTransportHeader(String),
}

impl Config {
    /// Rejects what browsers would reject and what is unsafe.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_cookie_token(&self.cookie_name) {
            return Err(ConfigError::InvalidCookieName(self.cookie_name.clone()));
        }
        if self.max_age.is_zero() {
            return Err(ConfigError::NonPositiveMaxAge);
        }
        if self.max_age > MAX_COOKIE_AGE {
            return Err(ConfigError::MaxAgeTooLong);
        }
        let always_secure = self.secure == Some(true);
        if self.same_site == SameSite::None && !always_secure {
            return Err(ConfigError::SameSiteNoneWithoutSecure);
        }
        if !self.path.starts_with('/') || self.path.chars().any(|c| c == ';' || c.is_control()) {
            return Err(ConfigError::InvalidPath(self.path.clone()));
        }
        if let Some(domain) = &self.domain {
            let bad = |c: char| {
                c.is_control() || c.is_whitespace() || matches!(c, ';' | ':' | '/' | ',' | '"')
            };
            if domain.trim_start_matches('.').is_empty() || domain.chars().any(bad) {
                return Err(ConfigError::InvalidDomain(domain.clone()));
            }
        }
        // Cookie prefixes are matched case-insensitively by browsers (RFC 6265bis).
        let lower = self.cookie_name.to_ascii_lowercase();
        if lower.starts_with("__host-")
            && (!always_secure || self.path != "/" || self.domain.is_some())
        {
            return Err(ConfigError::HostPrefixRules);
        }
        if lower.starts_with("__secure-") && !always_secure {
            return Err(ConfigError::SecurePrefixRules);
        }
        if let Transport::Header(name) = &self.transport {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !matches!(name.as_str(), "cookie" | "set-cookie" | "authorization");
            if !valid {
                return Err(ConfigError::InvalidTransportHeader(name.clone()));
            }
        }
        Ok(())
    }

    /// Whether the cookie gets `Secure` on a request that did (or did not) come over HTTPS.
    pub fn secure_for(&self, request_is_https: bool) -> bool {
        self.secure.unwrap_or(request_is_https)
    }
}

/// RFC 6265 `cookie-name` is an RFC 2616 `token`: visible ASCII except separators.
fn is_cookie_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut Config)) -> Result<(), ConfigError> {
        let mut config = Config::default();
        change(&mut config);
        config.validate()
    }

    #[test]
    fn the_default_is_valid_and_safe() {
        let config = Config::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.cookie_name, "varel_session");
        assert_eq!(config.max_age, Duration::from_secs(86_400));
        assert!(config.http_only);
        assert_eq!(config.secure, None);
        assert_eq!(config.same_site, SameSite::Strict);
        assert_eq!(config.path, "/");
        assert_eq!(config.domain, None);
    }

    #[test]
    fn rejects_bad_cookie_names() {
        for name in [
            "",
            "a b",
            "a;b",
            "a=b",
            "sess\u{e9}",
            "a\tb",
            "(x)",
            "a,b",
            "a\"b",
        ] {
            assert_eq!(
                with(|c| c.cookie_name = name.into()),
                Err(ConfigError::InvalidCookieName(name.into())),
                "{name:?}"
            );
        }
        for name in ["sid", "my-app.session_v2", "a!#$%&'*+-.^_`|~z"] {
            assert_eq!(with(|c| c.cookie_name = name.into()), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn rejects_non_positive_and_too_long_lifetimes() {
        assert_eq!(
            with(|c| c.max_age = Duration::ZERO),
            Err(ConfigError::NonPositiveMaxAge)
        );
        assert_eq!(
            with(|c| c.max_age = MAX_COOKIE_AGE + Duration::from_secs(1)),
            Err(ConfigError::MaxAgeTooLong)
        );
        assert_eq!(with(|c| c.max_age = MAX_COOKIE_AGE), Ok(()));
    }

    #[test]
    fn same_site_none_needs_secure() {
        assert_eq!(
            with(|c| c.same_site = SameSite::None),
            Err(ConfigError::SameSiteNoneWithoutSecure)
        );
        assert_eq!(
            with(|c| {
                c.same_site = SameSite::None;
                c.secure = Some(false);
            }),
            Err(ConfigError::SameSiteNoneWithoutSecure)
        );
        assert_eq!(
            with(|c| {
                c.same_site = SameSite::None;
                c.secure = Some(true);
            }),
            Ok(())
        );
    }

    #[test]
    fn path_and_domain_are_checked() {
        for path in ["", "app", "/a;b", "/a\nb"] {
            assert_eq!(
                with(|c| c.path = path.into()),
                Err(ConfigError::InvalidPath(path.into()))
            );
        }
        assert_eq!(with(|c| c.path = "/app".into()), Ok(()));
        for domain in [
            "",
            ".",
            "https://example.com",
            "example.com:8080",
            "a b.com",
            "a;b",
        ] {
            assert_eq!(
                with(|c| c.domain = Some(domain.into())),
                Err(ConfigError::InvalidDomain(domain.into())),
                "{domain:?}"
            );
        }
        assert_eq!(with(|c| c.domain = Some("example.com".into())), Ok(()));
    }

    #[test]
    fn host_and_secure_prefixes_follow_their_rules() {
        let host = |c: &mut Config| {
            c.cookie_name = "__Host-sid".into();
            c.secure = Some(true);
        };
        assert_eq!(with(host), Ok(()));
        assert_eq!(
            with(|c| {
                host(c);
                c.secure = None;
            }),
            Err(ConfigError::HostPrefixRules)
        );
        assert_eq!(
            with(|c| {
                host(c);
                c.path = "/app".into();
            }),
            Err(ConfigError::HostPrefixRules)
        );
        assert_eq!(
            with(|c| {
                host(c);
                c.domain = Some("example.com".into());
            }),
            Err(ConfigError::HostPrefixRules)
        );
        assert_eq!(
            with(|c| c.cookie_name = "__host-sid".into()),
            Err(ConfigError::HostPrefixRules),
            "prefixes match case-insensitively"
        );
        assert_eq!(
            with(|c| c.cookie_name = "__Secure-sid".into()),
            Err(ConfigError::SecurePrefixRules)
        );
        assert_eq!(
            with(|c| {
                c.cookie_name = "__Secure-sid".into();
                c.secure = Some(true);
            }),
            Ok(())
        );
    }

    #[test]
    fn transport_headers_are_plain_names_without_a_meaning_of_their_own() {
        for name in [
            "",
            "X-Token",
            "a b",
            "cookie",
            "authorization",
            "set-cookie",
            "a:b",
        ] {
            assert_eq!(
                with(|c| c.transport = Transport::Header(name.into())),
                Err(ConfigError::InvalidTransportHeader(name.into())),
                "{name:?}"
            );
        }
        assert_eq!(
            with(|c| c.transport = Transport::Header("x-session-token".into())),
            Ok(())
        );
        assert_eq!(with(|c| c.transport = Transport::Bearer), Ok(()));
    }

    #[test]
    fn errors_say_what_to_fix() {
        let message = with(|c| c.same_site = SameSite::None)
            .unwrap_err()
            .to_string();
        assert!(message.contains("secure = Some(true)"), "{message}");
    }

    #[test]
    fn secure_is_decided_per_request_when_unset() {
        let mut config = Config::default();
        assert!(config.secure_for(true));
        assert!(!config.secure_for(false));
        config.secure = Some(true);
        assert!(config.secure_for(false));
        config.secure = Some(false);
        assert!(!config.secure_for(true));
    }
}
