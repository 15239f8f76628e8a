//! The layer's features, each case run over both stores (`PostgresStore` on the test cluster and
//! `MemoryStore`): flash messages, counters, no save on server errors, remember-me and
//! browser-session cookies, bearer and header token transports, the pending action's rules.

mod common;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use std::time::Duration;
use tower::ServiceExt;
use varel_session_client::axum::{CurrentSession, SessionLayer};
use varel_session_client::{Config, MemoryStore, SessionStore, Transport, TOKEN_HEADER};

const MONTH: Duration = Duration::from_secs(30 * 86_400);

fn app<S: SessionStore + 'static>(store: S) -> Router {
    Router::new()
        .route("/set/{key}/{value}", post(|s: CurrentSession, Path((k, v)): Path<(String, String)>| async move {
            s.set(k, v);
        }))
        .route("/read/{key}", get(|s: CurrentSession, Path(k): Path<String>| async move {
            s.get_as::<String>(&k).unwrap_or_default()
        }))
        .route("/set-then-fail/{value}", post(|s: CurrentSession, Path(v): Path<String>| async move {
            s.set("k", v);
            s.flash("from a failed request");
            StatusCode::INTERNAL_SERVER_ERROR
        }))
        .route("/flash/{message}", post(|s: CurrentSession, Path(m): Path<String>| async move {
            s.flash(m);
        }))
        .route("/flashes", get(|s: CurrentSession| async move {
            s.take_flashes::<String>().await.unwrap().join(",")
        }))
        .route("/incr", post(|s: CurrentSession| async move {
            s.incr("n", 1).await.unwrap().to_string()
        }))
        .route("/login/{user}", post(|s: CurrentSession, Path(user): Path<i64>| async move {
            s.log_in(user);
        }))
        .route("/login-and-flash/{user}", post(|s: CurrentSession, Path(user): Path<i64>| async move {
            s.log_in(user);
            s.flash("welcome");
        }))
        .route("/remember/{user}", post(|s: CurrentSession, Path(user): Path<i64>| async move {
            s.log_in_remembered(user, MONTH);
        }))
        .route("/user", get(|s: CurrentSession| async move {
            s.user_id().map(|u| u.to_string()).unwrap_or_default()
        }))
        .route("/destroy-then-login", post(|s: CurrentSession| async move {
            s.destroy();
            s.log_in(1);
        }))
        .layer(SessionLayer::new(store))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    /// The token from the one Set-Cookie, if any (empty for a removal cookie).
    fn cookie_token(&self) -> Option<String> {
        let cookies = self.set_cookies();
        assert!(cookies.len() <= 1, "{cookies:?}");
        let value = cookies.first()?.split(';').next()?.split_once('=')?.1;
        Some(value.to_owned())
    }
}

async fn send(app: &Router, method: &str, path: &str, headers: &[(&str, String)]) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn cookie(token: &str) -> Vec<(&'static str, String)> {
    vec![("cookie", format!("varel_session={token}"))]
}

/// A new session with `k` = `value` through `app`; its token.
async fn new_session(app: &Router, value: &str) -> String {
    let reply = send(app, "POST", &format!("/set/k/{value}"), &[]).await;
    reply.cookie_token().expect("a session cookie")
}

async fn flash_messages_are_shown_once_on_the_next_request<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    // Set on a new session: it is created with the message.
    let reply = send(&app, "POST", "/flash/hello", &[]).await;
    let token = reply.cookie_token().unwrap();
    let reply = send(&app, "GET", "/flashes", &cookie(&token)).await;
    assert_eq!(reply.body, "hello");
    assert!(
        reply.set_cookies().is_empty(),
        "taking a flash rotates nothing"
    );
    assert_eq!(
        send(&app, "GET", "/flashes", &cookie(&token)).await.body,
        ""
    );

    // Messages of concurrent requests are all kept.
    let senders = ["a", "b", "c", "d"].map(|m| {
        let (app, headers) = (app.clone(), cookie(&token));
        async move { send(&app, "POST", &format!("/flash/{m}"), &headers).await }
    });
    futures::future::join_all(senders).await;
    // And shown exactly once to concurrent readers.
    let readers = (0..8).map(|_| {
        let (app, headers) = (app.clone(), cookie(&token));
        async move { send(&app, "GET", "/flashes", &headers).await.body }
    });
    let shown: Vec<String> = futures::future::join_all(readers).await;
    let mut messages: Vec<&str> = shown
        .iter()
        .filter(|b| !b.is_empty())
        .flat_map(|b| b.split(','))
        .collect();
    messages.sort();
    assert_eq!(messages, ["a", "b", "c", "d"], "{shown:?}");

    // A flash set at log-in waits on the rotated token.
    let reply = send(&app, "POST", "/login/5", &cookie(&token)).await;
    let logged_in = reply.cookie_token().unwrap();
    send(&app, "POST", "/flash/welcome", &cookie(&logged_in)).await;
    assert_eq!(
        send(&app, "GET", "/flashes", &cookie(&logged_in))
            .await
            .body,
        "welcome"
    );
}

async fn concurrent_increments_of_one_session_are_all_counted<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    let token = new_session(&app, "v").await;
    let requests = (0..64).map(|_| {
        let (app, headers) = (app.clone(), cookie(&token));
        async move { send(&app, "POST", "/incr", &headers).await.body }
    });
    let mut seen: Vec<i64> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|b| b.parse().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        (1..=64).collect::<Vec<_>>(),
        "each request saw its own count"
    );
    // In a new session, the counter is kept in memory and saved with it.
    let reply = send(&app, "POST", "/incr", &[]).await;
    assert_eq!(reply.body, "1");
    let fresh = reply.cookie_token().unwrap();
    assert_eq!(send(&app, "POST", "/incr", &cookie(&fresh)).await.body, "2");
}

async fn a_server_error_saves_nothing_unless_configured<S: SessionStore + 'static>(store: S) {
    let app_default = app(store.clone());
    let token = new_session(&app_default, "before").await;
    let reply = send(
        &app_default,
        "POST",
        "/set-then-fail/after",
        &cookie(&token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.set_cookies().is_empty());
    assert_eq!(
        send(&app_default, "GET", "/read/k", &cookie(&token))
            .await
            .body,
        "before"
    );
    assert_eq!(
        send(&app_default, "GET", "/flashes", &cookie(&token))
            .await
            .body,
        "",
        "the failed request's flash was not kept either"
    );
    // A new session is not created by a failed request.
    let reply = send(&app_default, "POST", "/set-then-fail/x", &[]).await;
    assert!(reply.set_cookies().is_empty());
}

async fn a_server_error_saves_when_configured<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    let token = new_session(&app, "before").await;
    let reply = send(&app, "POST", "/set-then-fail/after", &cookie(&token)).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        send(&app, "GET", "/read/k", &cookie(&token)).await.body,
        "after"
    );
}

async fn remember_me_cookies_outlive_the_configured_lifetime<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    let token = new_session(&app, "v").await;
    let reply = send(&app, "POST", "/remember/9", &cookie(&token)).await;
    let set_cookie = reply.set_cookies()[0].to_owned();
    assert!(set_cookie.contains("Max-Age=2592000"), "{set_cookie}");
    let remembered = reply.cookie_token().unwrap();
    assert_ne!(remembered, token);
    assert_eq!(
        send(&app, "GET", "/user", &cookie(&remembered)).await.body,
        "9"
    );
}

async fn browser_session_cookies_have_no_max_age_unless_remembered<S: SessionStore + 'static>(
    store: S,
) {
    let app = app(store);
    let reply = send(&app, "POST", "/set/k/v", &[]).await;
    let set_cookie = reply.set_cookies()[0].to_owned();
    assert!(
        !set_cookie.contains("Max-Age") && !set_cookie.contains("Expires"),
        "{set_cookie}"
    );
    let token = reply.cookie_token().unwrap();
    let reply = send(&app, "POST", "/login/3", &cookie(&token)).await;
    assert!(!reply.set_cookies()[0].contains("Max-Age"));
    let token = reply.cookie_token().unwrap();
    let reply = send(&app, "POST", "/remember/3", &cookie(&token)).await;
    assert!(
        reply.set_cookies()[0].contains("Max-Age=2592000"),
        "{:?}",
        reply.set_cookies()
    );
}

async fn bearer_tokens_travel_in_headers<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    let bearer = |token: &str| vec![("authorization", format!("Bearer {token}"))];
    let reply = send(&app, "POST", "/set/k/v", &[]).await;
    assert!(
        reply.set_cookies().is_empty(),
        "no cookie with a header transport"
    );
    let token = reply.headers[TOKEN_HEADER].to_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(
        send(&app, "GET", "/read/k", &bearer(&token)).await.body,
        "v"
    );
    // A cookie is not a bearer token, and malformed headers are no session.
    assert_eq!(send(&app, "GET", "/read/k", &cookie(&token)).await.body, "");
    for bad in [
        format!("Basic {token}"),
        format!("Bearer {token}x"),
        "Bearer".into(),
    ] {
        let reply = send(&app, "GET", "/read/k", &[("authorization", bad)]).await;
        assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, ""));
    }
    // Rotation sends the new token; the old one is dead.
    let reply = send(&app, "POST", "/login/4", &bearer(&token)).await;
    let rotated = reply.headers[TOKEN_HEADER].to_str().unwrap().to_owned();
    assert_ne!(rotated, token);
    assert_eq!(
        send(&app, "GET", "/user", &bearer(&rotated)).await.body,
        "4"
    );
    assert_eq!(send(&app, "GET", "/user", &bearer(&token)).await.body, "");
    // Reading sends no token.
    let reply = send(&app, "GET", "/read/k", &bearer(&rotated)).await;
    assert!(reply.headers.get(TOKEN_HEADER).is_none());
    // Destroying sends an empty one.
    let reply = send(&app, "POST", "/destroy-then-login", &bearer(&rotated)).await;
    assert_eq!(reply.headers[TOKEN_HEADER], "");
}

async fn a_named_header_carries_the_token<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    let reply = send(&app, "POST", "/set/k/v", &[]).await;
    let token = reply.headers["x-session-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let header = vec![("x-session-token", token.clone())];
    assert_eq!(send(&app, "GET", "/read/k", &header).await.body, "v");
    let bearer = vec![("authorization", format!("Bearer {token}"))];
    assert_eq!(send(&app, "GET", "/read/k", &bearer).await.body, "");
}

async fn destroy_is_final_for_the_request<S: SessionStore + 'static>(store: S) {
    let app = app(store);
    let token = new_session(&app, "v").await;
    let reply = send(&app, "POST", "/destroy-then-login", &cookie(&token)).await;
    assert_eq!(
        reply.cookie_token().as_deref(),
        Some(""),
        "a removal cookie"
    );
    assert_eq!(send(&app, "GET", "/read/k", &cookie(&token)).await.body, "");
}

fn config_for(case: &str) -> Config {
    let mut config = Config::default();
    match case {
        "a_server_error_saves_when_configured" => config.save_on_server_error = true,
        "browser_session_cookies_have_no_max_age_unless_remembered" => {
            config.browser_session = true
        }
        "bearer_tokens_travel_in_headers" => config.transport = Transport::Bearer,
        "a_named_header_carries_the_token" => {
            config.transport = Transport::Header("x-session-token".into())
        }
        _ => {}
    }
    config
}

macro_rules! over_both_stores {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let config = super::config_for(stringify!($case));
                    super::$case(super::common::store_with(config)).await
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let config = super::config_for(stringify!($case));
                    super::$case(super::MemoryStore::new(config).unwrap()).await
                }
            )*
        }
    };
}

over_both_stores!(
    flash_messages_are_shown_once_on_the_next_request,
    concurrent_increments_of_one_session_are_all_counted,
    a_server_error_saves_nothing_unless_configured,
    a_server_error_saves_when_configured,
    remember_me_cookies_outlive_the_configured_lifetime,
    browser_session_cookies_have_no_max_age_unless_remembered,
    bearer_tokens_travel_in_headers,
    a_named_header_carries_the_token,
    destroy_is_final_for_the_request,
);
