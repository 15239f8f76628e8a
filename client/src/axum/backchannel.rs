//! OpenID Connect Back-Channel Logout 1.0: the endpoint an identity provider POSTs logout
//! tokens to. A logout token is a JWT signed by the provider; once it is verified (section
//! 2.6 of the specification), the sessions it names end: the one of its `sid`, or with only a
//! `sub` every session of that subject ([`SessionStore::revoke_idp`]). Sessions are named for
//! it at log-in by [`CurrentSession::log_in_via_idp`](super::CurrentSession::log_in_via_idp).

use crate::error::Error;
use crate::store::SessionStore;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `events` member every logout token carries.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The signature algorithms accepted: the provider's asymmetric ones. `none` and the HMAC
/// algorithms (which would need a secret shared with the provider) are refused.
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Clock difference tolerated between the provider and this server.
const LEEWAY: Duration = Duration::from_secs(60);

/// Why a logout token was refused. Its message is safe to send back to the provider (it names
/// no session and no token).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogoutTokenError {
    /// The request had no `logout_token` form parameter.
    #[error("the request has no logout_token")]
    Missing,
    /// Not a JWT, or a header that does not parse.
    #[error("the logout token is not a JWT")]
    Malformed,
    /// Signed with an algorithm this endpoint does not accept (none, HMAC).
    #[error("the logout token's algorithm is not accepted")]
    Algorithm,
    /// A `typ` other than `logout+jwt` (or `JWT`).
    #[error("the logout token's typ is not logout+jwt")]
    Type,
    /// No key of the provider's JWKS matches the token's `kid`.
    #[error("no key of the provider signed the logout token")]
    UnknownKey,
    /// The signature does not verify, or `iss`, `aud` or `exp` are wrong.
    #[error("the logout token does not verify: {0}")]
    Invalid(String),
    /// `iat` missing, in the future, or older than the endpoint accepts.
    #[error("the logout token's iat is missing or out of range")]
    IssuedAt,
    /// No back-channel logout member in `events`.
    #[error("the logout token has no backchannel-logout event")]
    Event,
    /// A `nonce`, which logout tokens must not have (it would make an ID token pass as one).
    #[error("the logout token has a nonce")]
    Nonce,
    /// Neither `sid` nor `sub`.
    #[error("the logout token names neither sid nor sub")]
    NoSubject,
}

/// What a verified logout token asks to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The provider.
    pub iss: String,
    /// Its session, when the token names one.
    pub sid: Option<String>,
    /// The user at the provider, when the token names one.
    pub sub: Option<String>,
}

#[derive(Deserialize)]
struct LogoutClaims {
    iss: String,
    iat: Option<i64>,
    sub: Option<String>,
    sid: Option<String>,
    events: Option<Map<String, Value>>,
}

/// The back-channel logout endpoint for one provider and one client (this application's
/// `client_id` there).
///
/// ```no_run
/// use axum::Router;
/// use varel_session_client::axum::BackChannelLogout;
/// use varel_session_client::PostgresStore;
///
/// # fn app(store: PostgresStore, jwks: &str) -> Result<Router, Box<dyn std::error::Error>> {
/// // jwks: the provider's JWKS document (its jwks_uri), fetched at start-up.
/// let logout = BackChannelLogout::new(store, "https://idp.example", "my-client-id", jwks)?;
/// let app: Router = Router::new().merge(logout.router("/backchannel-logout"));
/// # Ok(app) }
/// ```
pub struct BackChannelLogout<S> {
    inner: Arc<Inner<S>>,
    max_age: Duration,
}

struct Inner<S> {
    store: S,
    issuer: String,
    audience: String,
    keys: JwkSet,
}

impl<S> Clone for BackChannelLogout<S> {
    fn clone(&self) -> Self {
        BackChannelLogout {
            inner: self.inner.clone(),
            max_age: self.max_age,
        }
    }
}

impl<S: SessionStore + Send + Sync + 'static> BackChannelLogout<S> {
    /// The endpoint for the provider `issuer`, whose keys are the JWKS document `jwks`, and
    /// this application's `client_id` there (the tokens' audience). Logout tokens are
    /// accepted for 5 minutes after they were issued ([`with_max_token_age`](Self::with_max_token_age)).
    pub fn new(
        store: S,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        jwks: &str,
    ) -> Result<Self, serde_json::Error> {
        Ok(BackChannelLogout {
            inner: Arc::new(Inner {
                store,
                issuer: issuer.into(),
                audience: client_id.into(),
                keys: serde_json::from_str(jwks)?,
            }),
            max_age: Duration::from_secs(300),
        })
    }

    /// How long after its `iat` a logout token is accepted.
    pub fn with_max_token_age(self, max_age: Duration) -> Self {
        BackChannelLogout { max_age, ..self }
    }

    /// Verifies a logout token as section 2.6 of the specification asks: a JWT of an accepted
    /// algorithm, `typ` `logout+jwt` (or `JWT`) if it has one, signed by a key of the provider's JWKS,
    /// with this provider's `iss`, this client in `aud`, an `iat` neither in the future nor
    /// older than the accepted age, an `exp` not passed, the back-channel logout member
    /// in `events`, no `nonce`, and a `sid` or a `sub`.
    pub fn verify(&self, logout_token: &str) -> Result<LogoutRequest, LogoutTokenError> {
        let inner = &self.inner;
        let header =
            jsonwebtoken::decode_header(logout_token).map_err(|_| LogoutTokenError::Malformed)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(LogoutTokenError::Algorithm);
        }
        // The specification recommends logout+jwt; plain JWT is what many providers send. Any
        // other type is a token made for something else.
        if header.typ.as_deref().is_some_and(|typ| {
            !typ.eq_ignore_ascii_case("logout+jwt") && !typ.eq_ignore_ascii_case("JWT")
        }) {
            return Err(LogoutTokenError::Type);
        }
        let jwk = match &header.kid {
            Some(kid) => inner.keys.find(kid),
            // Without a kid, only a provider with a single key says which one signed it.
            None if inner.keys.keys.len() == 1 => inner.keys.keys.first(),
            None => None,
        }
        .ok_or(LogoutTokenError::UnknownKey)?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| LogoutTokenError::UnknownKey)?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&inner.issuer]);
        validation.set_audience(&[&inner.audience]);
        validation.set_required_spec_claims(&["iss", "aud", "exp"]);
        validation.leeway = LEEWAY.as_secs();
        let claims = jsonwebtoken::decode::<Map<String, Value>>(logout_token, &key, &validation)
            .map_err(|e| LogoutTokenError::Invalid(e.to_string()))?
            .claims;
        // Present at all, even as null: an ID token is not a logout token.
        if claims.contains_key("nonce") {
            return Err(LogoutTokenError::Nonce);
        }
        let claims: LogoutClaims = serde_json::from_value(Value::Object(claims))
            .map_err(|e| LogoutTokenError::Invalid(e.to_string()))?;

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let iat = claims.iat.ok_or(LogoutTokenError::IssuedAt)?;
        let leeway = LEEWAY.as_secs() as i64;
        if iat > now + leeway || iat < now - self.max_age.as_secs() as i64 - leeway {
            return Err(LogoutTokenError::IssuedAt);
        }
        if !claims
            .events
            .as_ref()
            .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
            .is_some_and(Value::is_object)
        {
            return Err(LogoutTokenError::Event);
        }
        if claims.sid.is_none() && claims.sub.is_none() {
            return Err(LogoutTokenError::NoSubject);
        }
        Ok(LogoutRequest {
            iss: claims.iss,
            sid: claims.sid,
            sub: claims.sub,
        })
    }

    /// Verifies the token and ends the sessions it names; how many live ones ended.
    pub async fn log_out(&self, logout_token: &str) -> Result<u64, LogoutFailure> {
        let request = self.verify(logout_token).map_err(LogoutFailure::Token)?;
        self.inner
            .store
            .revoke_idp(&request.iss, request.sid.as_deref(), request.sub.as_deref())
            .await
            .map_err(LogoutFailure::Store)
    }

    /// A router with the endpoint at `path`: a POST of `logout_token` (form-encoded) answered
    /// 200 when it verified and its sessions ended, 400 with the specification's JSON error when
    /// it did not verify, 500 when the store failed (the provider may retry). Never cached.
    pub fn router<T: Clone + Send + Sync + 'static>(self, path: &str) -> Router<T> {
        Router::new()
            .route(path, post(endpoint::<S>))
            .with_state(self)
    }
}

/// Why [`BackChannelLogout::log_out`] ended nothing.
#[derive(Debug, thiserror::Error)]
pub enum LogoutFailure {
    /// The token was refused.
    #[error(transparent)]
    Token(LogoutTokenError),
    /// The store failed.
    #[error(transparent)]
    Store(Error),
}

async fn endpoint<S: SessionStore + Send + Sync + 'static>(
    State(logout): State<BackChannelLogout<S>>,
    body: Bytes,
) -> Response {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let outcome = match form_value(&body, "logout_token") {
        Some(token) => logout.log_out(&token).await,
        None => Err(LogoutFailure::Token(LogoutTokenError::Missing)),
    };
    match outcome {
        Ok(_) => (StatusCode::OK, no_store).into_response(),
        Err(LogoutFailure::Token(refused)) => (
            StatusCode::BAD_REQUEST,
            no_store,
            axum::Json(serde_json::json!({
                "error": "invalid_request",
                "error_description": refused.to_string(),
            })),
        )
            .into_response(),
        Err(LogoutFailure::Store(error)) => {
            tracing::error!(%error, "back-channel logout: session store failure");
            (StatusCode::INTERNAL_SERVER_ERROR, no_store).into_response()
        }
    }
}

/// The value of `name` in an `application/x-www-form-urlencoded` body, percent-decoded.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        (percent_decode(key)? == name.as_bytes())
            .then(|| percent_decode(value))
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    })
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [*bytes.next()?, *bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::form_value;

    #[test]
    fn the_form_parameter_is_found_and_decoded() {
        assert_eq!(
            form_value(b"a=1&logout_token=x.y%2Ez&b=2", "logout_token").as_deref(),
            Some("x.y.z")
        );
        assert_eq!(
            form_value(b"logout_token", "logout_token").as_deref(),
            Some("")
        );
        assert_eq!(form_value(b"other=1", "logout_token"), None);
        assert_eq!(form_value(b"logout_token=%zz", "logout_token"), None);
    }
}
