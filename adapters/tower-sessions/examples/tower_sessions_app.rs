//! The example app of the shared contract (tests/examples/contract.py) on tower-sessions: an
//! axum app whose handlers use tower-sessions' `Session`, stored by `VarelStore`.
//!
//! ```sh
//! DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/tower-sessions/example/run
//! ```

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::{Session, SessionManagerLayer};
use varel_session_tower_sessions::VarelStore;

#[derive(Deserialize)]
struct Login {
    user_id: i64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The session key the store records as the session's user (`with_user_key`).
const USER: &str = "user_id";

async fn login(session: Session, Json(body): Json<Login>) -> Response {
    // Against session fixation: a new id at log-in, and the user with it.
    let result = async {
        session.insert(USER, body.user_id).await?;
        session.cycle_id().await
    }
    .await;
    match result {
        Ok(()) => Json(json!({ "user_id": body.user_id })).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn me(State(store): State<VarelStore>, session: Session) -> Response {
    let (Ok(Some(user_id)), Some(id)) = (session.get::<i64>(USER).await, session.id()) else {
        return unauthorized();
    };
    // Counted on the server in one update: concurrent requests never lose a visit. The handler
    // does not change the session itself, so tower-sessions saves nothing over it.
    let visits = query_one(
        &store,
        "SELECT varel_session.session_incr($1, 'visits')",
        &id.to_string(),
    )
    .await;
    match visits {
        Ok(Some(visits)) => Json(json!({ "user_id": user_id, "visits": visits })).into_response(),
        Ok(None) => unauthorized(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn sessions(State(store): State<VarelStore>, session: Session) -> Response {
    let (Ok(Some(user_id)), Some(id)) = (session.get::<i64>(USER).await, session.id()) else {
        return unauthorized();
    };
    let listing = async {
        let client = store.pool().get().await?;
        let current: Option<String> = client
            .query_one(
                "SELECT varel_session.session_handle($1)",
                &[&id.to_string()],
            )
            .await?
            .get(0);
        let rows = client
            .query(
                "SELECT handle, extract(epoch FROM created_at)::bigint, host(ip), user_agent
                 FROM varel_session.session_user_sessions($1)",
                &[&user_id],
            )
            .await?;
        Ok::<_, BoxError>(
            rows.iter()
                .map(|row| {
                    let handle: String = row.get(0);
                    json!({
                        "handle": handle,
                        "created_at": row.get::<_, i64>(1),
                        "ip": row.get::<_, Option<String>>(2),
                        "user_agent": row.get::<_, Option<String>>(3),
                        "current": Some(&handle) == current.as_ref(),
                    })
                })
                .collect::<Vec<_>>(),
        )
    }
    .await;
    match listing {
        Ok(listing) => Json(listing).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn logout(session: Session) -> StatusCode {
    match session.flush().await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn logout_all(State(store): State<VarelStore>, session: Session) -> Response {
    let Ok(Some(user_id)) = session.get::<i64>(USER).await else {
        return unauthorized();
    };
    let ended = async {
        let client = store.pool().get().await?;
        let ended: i64 = client
            .query_one("SELECT varel_session.session_user_revoke($1)", &[&user_id])
            .await?
            .get(0);
        Ok::<_, BoxError>(ended)
    }
    .await;
    // The session is gone on the server already: flushing also removes the cookie.
    let _ = session.flush().await;
    match ended {
        Ok(ended) => Json(json!({ "ended": ended })).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn query_one(store: &VarelStore, sql: &str, id: &str) -> Result<Option<i64>, BoxError> {
    let client = store.pool().get().await?;
    Ok(client.query_one(sql, &[&id]).await?.get(0))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "not logged in" })),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let mut pg = deadpool_postgres::Config::new();
    pg.url = Some(url);
    let pool = pg.create_pool(None, tokio_postgres::NoTls)?;
    let store = VarelStore::new(pool).with_user_key(USER);
    // Plain HTTP on loopback in this example; behind HTTPS, keep tower-sessions' Secure cookies.
    let sessions_layer = SessionManagerLayer::new(store.clone()).with_secure(false);
    let app = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/sessions", get(sessions))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .with_state(store)
        .layer(sessions_layer);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}
