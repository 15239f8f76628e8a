//! OpenID Connect back-channel logout end to end: an app logs users in through a provider
//! (`log_in_via_idp`), and the provider's logout tokens, signed with its key (a local test key
//! pair in tests/fixtures, published in its JWKS), end the sessions they name at the endpoint.
//! Forged, replayed-from-elsewhere and malformed tokens end nothing.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use common::{store, unique_user_id};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use tower::ServiceExt;
use varel_session_client::axum::{BackChannelLogout, CurrentSession, SessionLayer};
use varel_session_client::{IdpLogin, PostgresStore, SessionStore};

const ISSUER: &str = "https://idp.test.example";
const CLIENT_ID: &str = "varel-test-app";
const JWKS: &str = include_str!("fixtures/idp_jwks.json");
const EC_KEY: &[u8] = include_bytes!("fixtures/idp_ec_private.pem");
const RSA_KEY: &[u8] = include_bytes!("fixtures/idp_rsa_private.pem");
const ATTACKER_KEY: &[u8] = include_bytes!("fixtures/attacker_ec_private.pem");

fn app(store: PostgresStore) -> Router {
    let logout = BackChannelLogout::new(store.clone(), ISSUER, CLIENT_ID, JWKS).unwrap();
    Router::new()
        .route(
            "/oidc-callback/{user}/{sid}/{sub}",
            post(
                |s: CurrentSession,
                 axum::extract::Path((user, sid, sub)): axum::extract::Path<(
                    i64,
                    String,
                    String,
                )>| async move {
                    s.log_in_via_idp(
                        user,
                        IdpLogin {
                            iss: ISSUER.into(),
                            sid: Some(sid),
                            sub: Some(sub),
                        },
                    )
                    .unwrap();
                },
            ),
        )
        .route(
            "/me",
            get(|s: CurrentSession| async move {
                s.user_id().map(|u| u.to_string()).unwrap_or_default()
            }),
        )
        .layer(SessionLayer::new(store))
        .merge(logout.router("/backchannel-logout"))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, token)| token.to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, cookie, String::from_utf8(body.to_vec()).unwrap())
}

/// A log-in through the provider; the new session's token.
async fn log_in(app: &Router, user: i64, sid: &str, sub: &str) -> String {
    let request = Request::post(format!("/oidc-callback/{user}/{sid}/{sub}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await.1.expect("a session cookie")
}

async fn user_of(app: &Router, token: &str) -> String {
    let request = Request::get("/me")
        .header(header::COOKIE, format!("varel_session={token}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await.2
}

async fn post_logout(app: &Router, logout_token: &str) -> (StatusCode, String) {
    let request = Request::post("/backchannel-logout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("logout_token={logout_token}")))
        .unwrap();
    let (status, _, body) = send(app, request).await;
    (status, body)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims a provider puts in a logout token (section 2.4).
fn claims(sid: Option<&str>, sub: Option<&str>) -> Value {
    let mut claims = json!({
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": now(),
        "exp": now() + 120,
        "jti": format!("jti-{}", unique_user_id()),
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    if let Some(sid) = sid {
        claims["sid"] = json!(sid);
    }
    if let Some(sub) = sub {
        claims["sub"] = json!(sub);
    }
    claims
}

fn sign(alg: Algorithm, kid: &str, key: &[u8], claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.typ = Some("logout+jwt".into());
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(key).unwrap(),
        _ => EncodingKey::from_rsa_pem(key).unwrap(),
    };
    encode(&header, claims, &key).unwrap()
}

fn es256(claims: &Value) -> String {
    sign(Algorithm::ES256, "idp-ec-1", EC_KEY, claims)
}

#[tokio::test]
async fn a_logout_token_by_sid_ends_that_session_and_no_other() {
    let store = store();
    let app = app(store.clone());
    let user = unique_user_id();
    let sid = format!("sid-{user}");
    let laptop = log_in(&app, user, &sid, &format!("sub-{user}")).await;
    let phone = log_in(&app, user, &format!("{sid}-phone"), &format!("sub-{user}")).await;
    assert_eq!(user_of(&app, &laptop).await, user.to_string());

    let (status, _) = post_logout(&app, &es256(&claims(Some(&sid), None))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        user_of(&app, &laptop).await,
        "",
        "the laptop's session ended"
    );
    assert_eq!(
        user_of(&app, &phone).await,
        user.to_string(),
        "the phone's did not"
    );
    assert!(store.load(&laptop).await.unwrap().is_none());
}

#[tokio::test]
async fn an_rs256_logout_token_by_sub_ends_every_session_of_the_subject() {
    let store = store();
    let app = app(store.clone());
    let user = unique_user_id();
    let sub = format!("sub-{user}");
    let one = log_in(&app, user, &format!("sid-{user}-1"), &sub).await;
    let two = log_in(&app, user, &format!("sid-{user}-2"), &sub).await;
    let token = sign(
        Algorithm::RS256,
        "idp-rsa-1",
        RSA_KEY,
        &claims(None, Some(&sub)),
    );
    assert_eq!(post_logout(&app, &token).await.0, StatusCode::OK);
    assert_eq!(user_of(&app, &one).await, "");
    assert_eq!(user_of(&app, &two).await, "");
}

#[tokio::test]
async fn refused_tokens_end_nothing() {
    let store = store();
    let app = app(store.clone());
    let user = unique_user_id();
    let sid = format!("sid-{user}");
    let session = log_in(&app, user, &sid, &format!("sub-{user}")).await;
    let good = claims(Some(&sid), None);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        change(&mut claims);
        claims
    };

    let mut refused: Vec<(&str, String)> = vec![
        (
            "forged: signed by another key under the provider's kid",
            sign(Algorithm::ES256, "idp-ec-1", ATTACKER_KEY, &good),
        ),
        (
            "an unknown kid",
            sign(Algorithm::ES256, "someone-else", ATTACKER_KEY, &good),
        ),
        (
            "another issuer",
            es256(&with(&|c| c["iss"] = json!("https://evil.example"))),
        ),
        (
            "another audience",
            es256(&with(&|c| c["aud"] = json!("another-client"))),
        ),
        ("expired", es256(&with(&|c| c["exp"] = json!(now() - 600)))),
        (
            "issued long ago",
            es256(&with(&|c| c["iat"] = json!(now() - 3600))),
        ),
        (
            "issued in the future",
            es256(&with(&|c| c["iat"] = json!(now() + 3600))),
        ),
        (
            "no iat",
            es256(&with(&|c| {
                c.as_object_mut().unwrap().remove("iat");
            })),
        ),
        (
            "an ID token (nonce)",
            es256(&with(&|c| c["nonce"] = json!("n-0S6_WzA2Mj"))),
        ),
        ("a null nonce", es256(&with(&|c| c["nonce"] = Value::Null))),
        (
            "no exp",
            es256(&with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
        ),
        (
            "no events",
            es256(&with(&|c| {
                c.as_object_mut().unwrap().remove("events");
            })),
        ),
        (
            "another event",
            es256(&with(&|c| {
                c["events"] = json!({"http://schemas.openid.net/event/other": {}})
            })),
        ),
        (
            "the event not an object",
            es256(&with(
                &|c| {
                    c["events"] =
                        json!({"http://schemas.openid.net/event/backchannel-logout": "yes"})
                },
            )),
        ),
        (
            "neither sid nor sub",
            es256(&with(&|c| {
                c.as_object_mut().unwrap().remove("sid");
            })),
        ),
        ("not a JWT", "not-a-jwt".into()),
    ];
    // HS256 keyed with the provider's public key (algorithm confusion) and alg none.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("idp-ec-1".into());
    refused.push((
        "HS256",
        encode(&hs, &good, &EncodingKey::from_secret(JWKS.as_bytes())).unwrap(),
    ));
    let es = es256(&good);
    let (_, rest) = es.split_once('.').unwrap();
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoibG9nb3V0K2p3dCJ9"; // {"alg":"none","typ":"logout+jwt"}
    refused.push((
        "alg none",
        format!("{none_header}.{}.", rest.split('.').next().unwrap()),
    ));
    let mut typed = Header::new(Algorithm::ES256);
    typed.kid = Some("idp-ec-1".into());
    typed.typ = Some("at+jwt".into());
    refused.push((
        "an access token's typ",
        encode(&typed, &good, &EncodingKey::from_ec_pem(EC_KEY).unwrap()).unwrap(),
    ));

    for (what, token) in &refused {
        let (status, body) = post_logout(&app, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "invalid_request", "{what}");
        assert_eq!(
            user_of(&app, &session).await,
            user.to_string(),
            "{what} ended the session"
        );
    }
    let request = Request::post("/backchannel-logout")
        .body(Body::from("other=1"))
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::BAD_REQUEST);

    // And the good one does.
    assert_eq!(post_logout(&app, &es256(&good)).await.0, StatusCode::OK);
    assert_eq!(user_of(&app, &session).await, "");
}
