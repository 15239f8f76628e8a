//! The axum layer, driven through a real Router against a real cluster.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use common::{move_deadline, store, store_with, unique_user_id};
use tower::ServiceExt;
use varel_session_client::axum::{CurrentSession, SessionLayer};
use varel_session_client::{AuthContext, Config, PostgresStore, SameSite, SessionStore};

fn app(store: PostgresStore) -> Router {
    Router::new()
        .route("/untouched", get(|| async { "hello" }))
        .route("/read", get(|s: CurrentSession| async move {
            s.get_as::<String>("k").unwrap_or_default()
        }))
        .route("/set/{key}/{value}", post(
            |s: CurrentSession, axum::extract::Path((k, v)): axum::extract::Path<(String, String)>| async move {
                s.set(k, v);
            },
        ))
        .route("/login/{user}", post(
            |s: CurrentSession, axum::extract::Path(user): axum::extract::Path<i64>| async move {
                s.log_in(user);
            },
        ))
        .route("/logout", post(|s: CurrentSession| async move { s.log_out() }))
        .route("/regenerate", post(|s: CurrentSession| async move { s.regenerate() }))
        .route("/destroy", post(|s: CurrentSession| async move { s.destroy() }))
        .route("/csrf", get(|s: CurrentSession| async move {
            s.csrf_token().unwrap_or_else(|| "none".into())
        }))
        .route("/login-and-csrf/{user}", post(
            |s: CurrentSession, axum::extract::Path(user): axum::extract::Path<i64>| async move {
                s.log_in(user);
                s.csrf_token().unwrap_or_else(|| "none".into())
            },
        ))
        .route("/submit/{csrf}", post(
            |s: CurrentSession, axum::extract::Path(csrf): axum::extract::Path<String>| async move {
                if s.verify_csrf(&csrf) { StatusCode::OK } else { StatusCode::FORBIDDEN }
            },
        ))
        .route("/login-aal/{user}/{aal}", post(
            |s: CurrentSession, axum::extract::Path((user, aal)): axum::extract::Path<(i64, u8)>| async move {
                match s.log_in_with(user, None, AuthContext::new(aal, ["pwd", "otp"])) {
                    Ok(()) => s.aal().map_or("none".into(), |aal| aal.to_string()),
                    Err(error) => error.sqlstate().unwrap_or_default().to_owned(),
                }
            },
        ))
        .route("/sensitive/{aal}", post(
            |s: CurrentSession, axum::extract::Path(aal): axum::extract::Path<u8>| async move {
                if s.authenticated_within(std::time::Duration::from_secs(300), aal) {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                }
            },
        ))
        .route("/step-up/{aal}", post(
            |s: CurrentSession, axum::extract::Path(aal): axum::extract::Path<u8>| async move {
                s.reauthenticate(AuthContext { aal: Some(aal), amr: None }).unwrap();
                // Counted at once for the rest of this request.
                s.authenticated_within(std::time::Duration::from_secs(1), aal).to_string()
            },
        ))
        .layer(SessionLayer::new(store))
}

struct Reply {
    status: StatusCode,
    set_cookies: Vec<String>,
    body: String,
}

impl Reply {
    /// The token from the one Set-Cookie, if any.
    fn token(&self) -> Option<String> {
        assert!(self.set_cookies.len() <= 1, "{:?}", self.set_cookies);
        let cookie = self.set_cookies.first()?;
        let value = cookie.split(';').next()?.split_once('=')?.1;
        (!value.is_empty()).then(|| value.to_owned())
    }
}

async fn send(app: &Router, method: &str, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let set_cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Reply {
        status,
        set_cookies,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn cookie(token: &str) -> String {
    format!("varel_session={token}")
}

async fn row_version(store: &PostgresStore, token: &str) -> Option<String> {
    let client = store.pool().get().await.unwrap();
    client
        .query_opt(
            "SELECT xmin::text FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash($1)",
            &[&token],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

#[tokio::test]
async fn a_request_that_never_touches_the_session_makes_no_database_call() {
    // A store whose pool points at a port nothing listens on: any database call fails, so a
    // request succeeds only if it made none. (Counting rows of the shared database instead
    // raced with the other tests creating sessions there.)
    let unreachable =
        PostgresStore::new(common::pool_at("127.0.0.1", "1", None), Config::default()).unwrap();
    let app = app(unreachable);
    let token = "0123456789abcdef".repeat(4);
    for cookie in [None, Some(cookie(&token))] {
        let reply = send(&app, "GET", "/untouched", cookie.as_deref()).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "hello")
        );
        assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    }
    // The first use loads: with a token, that needs the database, which is not there.
    let reply = send(&app, "GET", "/read", Some(&cookie(&token))).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    // Without a token there is nothing to load, and a read creates nothing.
    let reply = send(&app, "GET", "/read", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.set_cookies.is_empty(),
        "reading an absent session creates nothing"
    );
}

#[tokio::test]
async fn reads_and_untouched_requests_leave_the_row_as_it_was() {
    let store = store();
    let app = app(store.clone());
    // With a session: reads and untouched requests leave the row as it was.
    let token = send(&app, "POST", "/set/k/v", None).await.token().unwrap();
    let version = row_version(&store, &token).await;
    for path in ["/untouched", "/read"] {
        let reply = send(&app, "GET", path, Some(&cookie(&token))).await;
        assert!(
            reply.set_cookies.is_empty(),
            "{path}: {:?}",
            reply.set_cookies
        );
    }
    assert_eq!(
        row_version(&store, &token).await,
        version,
        "a read wrote the row"
    );
    assert_eq!(
        send(&app, "GET", "/read", Some(&cookie(&token))).await.body,
        "v"
    );
}

#[tokio::test]
async fn first_write_creates_the_session_with_exactly_the_configured_cookie() {
    let store = store();
    let app = app(store.clone());
    let reply = send(&app, "POST", "/set/theme/dark", None).await;
    assert_eq!(reply.set_cookies.len(), 1);
    let set_cookie = &reply.set_cookies[0];
    let token = reply.token().unwrap();
    assert_eq!(token.len(), 64);
    let mut attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
    attributes.sort();
    assert_eq!(
        attributes,
        ["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Strict"]
    );

    // Changing a key later: saved, and no new cookie (the token did not change).
    let reply = send(&app, "POST", "/set/lang/fr", Some(&cookie(&token))).await;
    assert!(reply.set_cookies.is_empty());
    let session = varel_session_client::SessionStore::load(&store, &token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.get_as::<String>("theme").as_deref(), Some("dark"));
    assert_eq!(session.get_as::<String>("lang").as_deref(), Some("fr"));
}

#[tokio::test]
async fn secure_follows_the_request_or_the_config() {
    let config = Config {
        trust_proxy: true,
        ..Config::default()
    };
    let app = app(store_with(config));
    let request = Request::builder()
        .method("POST")
        .uri("/set/a/b")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");

    let config = Config {
        cookie_name: "__Host-sid".into(),
        secure: Some(true),
        same_site: SameSite::Lax,
        ..Config::default()
    };
    let app = self::app(store_with(config));
    let reply = send(&app, "POST", "/set/a/b", None).await;
    let set_cookie = &reply.set_cookies[0];
    assert!(set_cookie.starts_with("__Host-sid="), "{set_cookie}");
    assert!(
        set_cookie.contains("Secure") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
}

#[tokio::test]
async fn log_in_rotates_the_token_and_log_out_rotates_it_again() {
    let store = store();
    let app = app(store.clone());
    let user = unique_user_id();
    let anonymous = send(&app, "POST", "/set/cart/3", None)
        .await
        .token()
        .unwrap();

    let reply = send(
        &app,
        "POST",
        &format!("/login/{user}"),
        Some(&cookie(&anonymous)),
    )
    .await;
    let logged_in = reply.token().expect("a new cookie on log-in");
    assert_ne!(logged_in, anonymous);
    assert!(varel_session_client::SessionStore::load(&store, &anonymous)
        .await
        .unwrap()
        .is_none());
    let session = varel_session_client::SessionStore::load(&store, &logged_in)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user_id(), Some(user));
    assert_eq!(session.get_as::<String>("cart").as_deref(), Some("3"));

    let reply = send(&app, "POST", "/logout", Some(&cookie(&logged_in))).await;
    let logged_out = reply.token().expect("a new cookie on log-out");
    assert_ne!(logged_out, logged_in);
    let session = varel_session_client::SessionStore::load(&store, &logged_out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user_id(), None);

    let reply = send(&app, "POST", "/regenerate", Some(&cookie(&logged_out))).await;
    assert_ne!(reply.token().unwrap(), logged_out);

    // Logging in without a session creates one for the user.
    let fresh = send(&app, "POST", &format!("/login/{user}"), None)
        .await
        .token()
        .unwrap();
    let session = varel_session_client::SessionStore::load(&store, &fresh)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.user_id(), Some(user));
}

#[tokio::test]
async fn csrf_tokens_are_the_extensions_and_change_at_log_in() {
    let store = store();
    let app = app(store.clone());
    // No stored session: no token to bind one to, and nothing verifies.
    assert_eq!(send(&app, "GET", "/csrf", None).await.body, "none");
    assert_eq!(
        send(&app, "POST", &format!("/submit/{}", "0".repeat(64)), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let token = send(&app, "POST", "/set/k/v", None).await.token().unwrap();
    let csrf = send(&app, "GET", "/csrf", Some(&cookie(&token))).await.body;
    // Derived here without a database call, and the same as the extension's.
    assert_eq!(
        Some(csrf.clone()),
        store.csrf_token(&token).await.unwrap(),
        "the extension's session_csrf_token"
    );
    let submit = |csrf: String, token: String| {
        let app = app.clone();
        async move {
            send(
                &app,
                "POST",
                &format!("/submit/{csrf}"),
                Some(&cookie(&token)),
            )
            .await
            .status
        }
    };
    assert_eq!(submit(csrf.clone(), token.clone()).await, StatusCode::OK);
    assert_eq!(
        submit(csrf[..63].to_owned() + "0", token.clone()).await,
        StatusCode::FORBIDDEN
    );
    // The request that logs in has none to give (the token changes as the response goes
    // out); after it, the old form is refused and the new token has its own.
    let reply = send(
        &app,
        "POST",
        &format!("/login-and-csrf/{}", unique_user_id()),
        Some(&cookie(&token)),
    )
    .await;
    assert_eq!(reply.body, "none");
    let logged_in = reply.token().unwrap();
    assert_eq!(
        submit(csrf.clone(), logged_in.clone()).await,
        StatusCode::FORBIDDEN
    );
    let fresh = send(&app, "GET", "/csrf", Some(&cookie(&logged_in)))
        .await
        .body;
    assert_ne!(fresh, csrf);
    assert_eq!(submit(fresh, logged_in).await, StatusCode::OK);
}

#[tokio::test]
async fn a_log_in_records_its_level_and_a_step_up_raises_it() {
    let store = store();
    let app = app(store.clone());
    let user = unique_user_id();
    let anonymous = send(&app, "POST", "/set/k/v", None).await.token().unwrap();
    assert_eq!(
        send(&app, "POST", "/sensitive/1", Some(&cookie(&anonymous)))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "no user"
    );
    // A level the extension would refuse: no log-in, and the session is as it was.
    let refused = send(
        &app,
        "POST",
        &format!("/login-aal/{user}/4"),
        Some(&cookie(&anonymous)),
    )
    .await;
    assert_eq!((refused.body.as_str(), refused.token()), ("22023", None));

    let reply = send(
        &app,
        "POST",
        &format!("/login-aal/{user}/2"),
        Some(&cookie(&anonymous)),
    )
    .await;
    assert_eq!(reply.body, "2", "counted in the request that logs in");
    let token = reply.token().unwrap();
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(loaded.aal(), Some(2));
    assert_eq!(
        loaded.amr(),
        Some(&["pwd".to_owned(), "otp".to_owned()][..])
    );
    assert_eq!(
        send(&app, "POST", "/sensitive/2", Some(&cookie(&token)))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "POST", "/sensitive/3", Some(&cookie(&token)))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Long ago by the server's clock: not recent any more.
    store
        .pool()
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE varel_session.sessions SET authenticated_at = now() - interval '1 hour' \
             WHERE token_hash = sha256(decode($1, 'hex'))",
            &[&token],
        )
        .await
        .unwrap();
    assert_eq!(
        send(&app, "POST", "/sensitive/2", Some(&cookie(&token)))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The step-up rotates the token and records AAL3, keeping the methods.
    let stepped = send(&app, "POST", "/step-up/3", Some(&cookie(&token))).await;
    assert_eq!(stepped.body, "true");
    let stepped_up = stepped.token().unwrap();
    assert_ne!(stepped_up, token);
    assert!(
        store.load(&token).await.unwrap().is_none(),
        "the old token is dead"
    );
    let loaded = store.load(&stepped_up).await.unwrap().unwrap();
    assert_eq!(loaded.aal(), Some(3));
    assert_eq!(
        loaded.amr(),
        Some(&["pwd".to_owned(), "otp".to_owned()][..])
    );
    assert_eq!(
        send(&app, "POST", "/sensitive/3", Some(&cookie(&stepped_up)))
            .await
            .status,
        StatusCode::OK
    );
    // A step-up of a session without a user is the programmer's mistake: a 500, no rotation.
    let other = send(&app, "POST", "/set/k/v", None).await.token().unwrap();
    let failed = send(&app, "POST", "/step-up/2", Some(&cookie(&other))).await;
    assert_eq!(
        (failed.status, failed.token()),
        (StatusCode::INTERNAL_SERVER_ERROR, None)
    );
    assert!(store.load(&other).await.unwrap().is_some());
}

#[tokio::test]
async fn destroy_deletes_and_sends_a_removal_cookie() {
    let store = store();
    let app = app(store.clone());
    let token = send(&app, "POST", "/set/a/1", None).await.token().unwrap();
    let reply = send(&app, "POST", "/destroy", Some(&cookie(&token))).await;
    assert_eq!(reply.set_cookies.len(), 1);
    let removal = &reply.set_cookies[0];
    assert!(removal.starts_with("varel_session=;"), "{removal}");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(reply.token().is_none());
    assert!(row_version(&store, &token).await.is_none());
    // Destroying when there is no session: nothing to remove.
    assert!(send(&app, "POST", "/destroy", None)
        .await
        .set_cookies
        .is_empty());
}

#[tokio::test]
async fn malformed_or_stale_cookies_are_no_session_never_an_error() {
    let app = app(store());
    for bad in [
        "varel_session=garbage".to_owned(),
        format!("varel_session={}", "0".repeat(64)),
        ";;;;".to_owned(),
        format!("varel_session={}", "é".repeat(40)),
        format!("varel_session={}; varel_session=x", "z".repeat(64)),
    ] {
        let reply = send(&app, "GET", "/read", Some(&bad)).await;
        assert_eq!(reply.status, StatusCode::OK, "{bad:?}");
        assert!(reply.set_cookies.is_empty(), "{bad:?}");
    }
    // Bytes that are not UTF-8 (HTTP allows them in header values).
    let request = Request::builder()
        .uri("/read")
        .header(
            header::COOKIE,
            axum::http::HeaderValue::from_bytes(b"varel_session=\xff\xfe\x80").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    // A write with a stale cookie starts a new session.
    let reply = send(
        &app,
        "POST",
        "/set/a/1",
        Some(&format!("varel_session={}", "0".repeat(64))),
    )
    .await;
    assert!(reply.token().is_some());
}

#[tokio::test]
async fn concurrent_requests_changing_different_keys_both_land() {
    let store = store();
    let app = app(store.clone());
    let token = send(&app, "POST", "/set/base/0", None)
        .await
        .token()
        .unwrap();
    let requests = (0..16).map(|i| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            send(
                &app,
                "POST",
                &format!("/set/key{i}/{i}"),
                Some(&cookie(&token)),
            )
            .await
        }
    });
    for reply in futures::future::join_all(requests).await {
        assert_eq!(reply.status, StatusCode::OK);
    }
    let session = varel_session_client::SessionStore::load(&store, &token)
        .await
        .unwrap()
        .unwrap();
    for i in 0..16 {
        assert_eq!(
            session.get_as::<String>(&format!("key{i}")),
            Some(i.to_string()),
            "key{i}"
        );
    }
}

#[tokio::test]
async fn a_load_that_slides_the_deadline_refreshes_the_cookie() {
    let store = store();
    let app = app(store.clone());
    let token = send(&app, "POST", "/set/a/1", None).await.token().unwrap();
    move_deadline(&store, &token, "1 hour").await;
    let reply = send(&app, "GET", "/read", Some(&cookie(&token))).await;
    assert_eq!(
        reply.token().as_deref(),
        Some(token.as_str()),
        "same token, fresh Max-Age"
    );
    assert!(
        reply.set_cookies[0].contains("Max-Age=86400"),
        "{:?}",
        reply.set_cookies
    );
    // The next read has nothing to slide: no cookie.
    assert!(send(&app, "GET", "/read", Some(&cookie(&token)))
        .await
        .set_cookies
        .is_empty());

    // With rolling off, the slide still happens on the server but no cookie is sent.
    let config = Config {
        rolling: false,
        ..Config::default()
    };
    let app = self::app(store_with(config));
    move_deadline(&store, &token, "1 hour").await;
    assert!(send(&app, "GET", "/read", Some(&cookie(&token)))
        .await
        .set_cookies
        .is_empty());
}

#[tokio::test]
async fn a_write_to_a_session_that_ended_meanwhile_sets_no_cookie_and_revives_nothing() {
    let store = store();
    let app = app(store.clone());
    let user = unique_user_id();
    let token = send(&app, "POST", &format!("/login/{user}"), None)
        .await
        .token()
        .unwrap();
    // Loaded by the layer, then revoked by another request before this one saves.
    let app_slow = Router::new()
        .route(
            "/slow-set",
            post({
                let store = store.clone();
                move |s: CurrentSession| async move {
                    varel_session_client::SessionStore::revoke_user_sessions(&store, user, None)
                        .await
                        .unwrap();
                    s.set("late", true);
                }
            }),
        )
        .layer(SessionLayer::new(store.clone()));
    let reply = send(&app_slow, "POST", "/slow-set", Some(&cookie(&token))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
    assert!(
        row_version(&store, &token).await.is_none(),
        "the write revived the session"
    );
    let _ = app;
}

#[tokio::test]
async fn a_write_racing_a_log_in_of_another_tab_does_not_remove_its_cookie() {
    let store = store();
    let app = app(store.clone());
    let token = send(&app, "POST", "/set/k/v", None).await.token().unwrap();
    // This request loaded the session; another tab's log-in rotates the token before it saves.
    let racing = Router::new()
        .route(
            "/set-while-another-tab-logs-in",
            post({
                let store = store.clone();
                move |s: CurrentSession| async move {
                    let mut other_tab = store.load(&s.id().unwrap()).await.unwrap().unwrap();
                    store.set_user(&mut other_tab, 5, None).await.unwrap();
                    s.set("late", true);
                }
            }),
        )
        .layer(SessionLayer::new(store.clone()));
    let reply = send(
        &racing,
        "POST",
        "/set-while-another-tab-logs-in",
        Some(&cookie(&token)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.set_cookies.is_empty(),
        "a removal cookie would log the other tab out: {:?}",
        reply.set_cookies
    );
}
