//! axum-login over `VarelStore`, unchanged: its `AuthManagerLayer` on tower-sessions'
//! `SessionManagerLayer::new(store)`. Log in (axum-login cycles the id), a protected route,
//! the session logged out elsewhere, log out.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use axum_login::{login_required, AuthManagerLayerBuilder, AuthUser, AuthnBackend};
use tower::ServiceExt;
use tower_sessions::SessionManagerLayer;
use varel_session_tower_sessions::VarelStore;

#[derive(Clone, Debug)]
struct User {
    id: i64,
    password_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.password_hash
    }
}

#[derive(Clone)]
struct Backend;

#[derive(Debug)]
struct NoError;

impl std::fmt::Display for NoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no error")
    }
}

impl std::error::Error for NoError {}

fn user(id: i64) -> User {
    User {
        id,
        password_hash: format!("hash of {id}").into_bytes(),
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = i64;
    type Error = NoError;

    async fn authenticate(&self, id: i64) -> Result<Option<User>, NoError> {
        Ok(Some(user(id)))
    }

    async fn get_user(&self, id: &i64) -> Result<Option<User>, NoError> {
        Ok(Some(user(*id)))
    }
}

type AuthSession = axum_login::AuthSession<Backend>;

fn app() -> Router {
    let sessions = SessionManagerLayer::new(VarelStore::new(support::pool())).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(Backend, sessions).build();
    Router::new()
        .route(
            "/protected",
            get(|s: AuthSession| async move { format!("{}", s.user.unwrap().id) }),
        )
        .route_layer(login_required!(Backend))
        .route(
            "/visit",
            get(|s: AuthSession| async move {
                s.session.insert("seen", true).await.unwrap();
            }),
        )
        .route(
            "/login",
            post(|mut s: AuthSession| async move {
                let user = s.authenticate(4711).await.unwrap().unwrap();
                s.login(&user).await.unwrap();
            }),
        )
        .route(
            "/logout",
            post(|mut s: AuthSession| async move {
                s.logout().await.unwrap();
            }),
        )
        .layer(auth)
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
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
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, cookie, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn axum_login_logs_in_guards_and_logs_out_over_the_store() {
    let app = app();
    let (status, _, _) = call(&app, "GET", "/protected", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An anonymous session first; logging in cycles its id (axum-login's fixation defence),
    // and the anonymous cookie is dead afterwards.
    let (_, anonymous, _) = call(&app, "GET", "/visit", None).await;
    let anonymous = anonymous.expect("an anonymous session cookie");
    let (status, again, _) = call(&app, "POST", "/login", Some(&anonymous)).await;
    assert_eq!(status, StatusCode::OK);
    let again = again.expect("a new session cookie");
    assert_ne!(again, anonymous);
    let (status, _, body) = call(&app, "GET", "/protected", Some(&again)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "4711"));
    let (status, _, _) = call(&app, "GET", "/visit", Some(&anonymous)).await;
    assert_eq!(status, StatusCode::OK);
    let client = support::pool().get().await.unwrap();
    let old_id = anonymous.split_once('=').unwrap().1.to_owned();
    let old_live: i64 = client
        .query_one(
            "SELECT count(*) FROM varel_session.session_get($1)",
            &[&old_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(old_live, 0, "the pre-log-in id still names a session");

    // Logged out elsewhere (the session destroyed on the server): no longer let in.
    let id = again.split_once('=').unwrap().1.to_owned();
    client
        .query_one("SELECT varel_session.session_destroy($1)", &[&id])
        .await
        .unwrap();
    let (status, _, _) = call(&app, "GET", "/protected", Some(&again)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // And axum-login's own log-out.
    let (_, third, _) = call(&app, "POST", "/login", None).await;
    let third = third.unwrap();
    call(&app, "POST", "/logout", Some(&third)).await;
    let (status, _, _) = call(&app, "GET", "/protected", Some(&third)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
