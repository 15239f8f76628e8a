//! An example app: log in, count visits, list and end your sessions.
//!
//! ```sh
//! DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel BIND=127.0.0.1:3000 \
//!     cargo run -p varel-session-client --example app
//! ```
//!
//! - `POST /login` with `{"user_id": 42}` (and `"remember": true` for a 30-day session): logs in
//!   (the token rotates) and leaves a flash message for the next page, `{"user_id": 42}`
//! - `GET /me`: `{"user_id": 42, "visits": N, "messages": [...]}` (N counts this session's calls,
//!   atomically; messages are the flash messages, shown once), 401 if anonymous
//! - `GET /sessions`: the user's sessions, marking the current one
//! - `POST /logout`: ends this session and clears the cookie
//! - `POST /logout-all`: ends every session of the user, this one included

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use varel_session_client::axum::{CurrentSession, SessionLayer};
use varel_session_client::{Config, PostgresStore, SessionStore};

#[derive(Deserialize)]
struct Login {
    user_id: i64,
    #[serde(default)]
    remember: bool,
}

/// How long a "remember me" session lives without use.
const REMEMBER_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// The app's routes over `store`; the binary below serves them.
pub fn router(store: PostgresStore) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/sessions", get(sessions))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .with_state(store.clone())
        .layer(SessionLayer::new(store))
}

async fn login(session: CurrentSession, Json(body): Json<Login>) -> Response {
    if body.remember {
        session.log_in_remembered(body.user_id, REMEMBER_FOR);
    } else {
        session.log_in(body.user_id);
    }
    session.flash(format!("welcome, user {}", body.user_id));
    Json(json!({ "user_id": body.user_id })).into_response()
}

async fn me(session: CurrentSession) -> Response {
    let Some(user_id) = session.user_id() else {
        return unauthorized();
    };
    // Counted on the server in one update: concurrent requests of one browser never lose a
    // visit, which a get, +1, set in the app would.
    let result = async {
        let visits = session.incr("visits", 1).await?;
        let messages: Vec<String> = session.take_flashes().await?;
        Ok::<_, varel_session_client::Error>((visits, messages))
    }
    .await;
    match result {
        Ok((visits, messages)) => {
            Json(json!({ "user_id": user_id, "visits": visits, "messages": messages }))
                .into_response()
        }
        Err(varel_session_client::Error::NoSession) => unauthorized(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}")).into_response(),
    }
}

async fn sessions(State(store): State<PostgresStore>, session: CurrentSession) -> Response {
    let (Some(user_id), Some(token)) = (session.user_id(), session.id()) else {
        return unauthorized();
    };
    let result = async {
        let current = store.handle(&token).await?;
        let list = store.user_sessions(user_id).await?;
        Ok::<_, varel_session_client::Error>((current, list))
    }
    .await;
    match result {
        Ok((current, list)) => Json(
            list.into_iter()
                .map(|s| {
                    json!({
                        "handle": s.handle,
                        "created_at": s.created_at.unix_timestamp(),
                        "ip": s.ip.map(|ip| ip.to_string()),
                        "user_agent": s.user_agent,
                        "last_seen_at": s.last_seen_at.map(|t| t.unix_timestamp()),
                        "current": Some(&s.handle) == current.as_ref(),
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn logout(session: CurrentSession) -> StatusCode {
    session.destroy();
    StatusCode::NO_CONTENT
}

async fn logout_all(State(store): State<PostgresStore>, session: CurrentSession) -> Response {
    let Some(user_id) = session.user_id() else {
        return unauthorized();
    };
    match store.revoke_user_sessions(user_id, None).await {
        Ok(ended) => {
            session.destroy();
            Json(json!({ "ended": ended })).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "not logged in" })),
    )
        .into_response()
}

#[allow(dead_code)] // tests include this file for `router` and do not call `main`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let mut pg = deadpool_postgres::Config::new();
    pg.url = Some(url);
    let pool = pg.create_pool(None, tokio_postgres::NoTls)?;
    // Plain HTTP in development: Secure is decided per request, so it is off here and on
    // behind HTTPS.
    let store = PostgresStore::new(pool, Config::default())?;
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{bind}");
    axum::serve(
        listener,
        router(store).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
