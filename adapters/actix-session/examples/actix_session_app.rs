//! The example app of the shared contract (tests/examples/contract.py) on actix-session: an
//! actix-web app whose handlers use actix-session's `Session`, stored by `VarelSessionStore`.
//!
//! ```sh
//! DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/actix-session/example/run
//! ```

use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::json;
use varel_session_actix::{VarelSessionStore, KEY_ENTRY};

/// The session entry the store records as the session's user (`with_user_key`).
const USER: &str = "user_id";

type BoxError = Box<dyn std::error::Error>;

#[derive(Deserialize)]
struct Login {
    user_id: i64,
}

async fn login(session: Session, body: web::Json<Login>) -> HttpResponse {
    // Against session fixation: a new key at log-in (actix-session deletes the old one and
    // saves the session under a new key), the user with it.
    if session.insert(USER, body.user_id).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    session.renew();
    HttpResponse::Ok().json(json!({ "user_id": body.user_id }))
}

/// The logged-in user and the session's key, or `None` for an anonymous request.
fn logged_in(session: &Session) -> Option<(i64, String)> {
    let user = session.get::<i64>(USER).ok()??;
    let key = session.get::<String>(KEY_ENTRY).ok()??;
    Some((user, key))
}

async fn me(store: web::Data<VarelSessionStore>, session: Session) -> HttpResponse {
    let Some((user_id, key)) = logged_in(&session) else {
        return unauthorized();
    };
    // Counted on the server in one update: concurrent requests never lose a visit.
    let visits = async {
        let client = store.pool().get().await?;
        let visits: Option<i64> = client
            .query_one("SELECT varel_session.session_incr($1, 'visits')", &[&key])
            .await?
            .get(0);
        Ok::<_, BoxError>(visits)
    }
    .await;
    match visits {
        Ok(Some(visits)) => {
            HttpResponse::Ok().json(json!({ "user_id": user_id, "visits": visits }))
        }
        Ok(None) => unauthorized(),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn sessions(store: web::Data<VarelSessionStore>, session: Session) -> HttpResponse {
    let Some((user_id, key)) = logged_in(&session) else {
        return unauthorized();
    };
    let listing = async {
        let client = store.pool().get().await?;
        let current: Option<String> = client
            .query_one("SELECT varel_session.session_handle($1)", &[&key])
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
        Ok(listing) => HttpResponse::Ok().json(listing),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn logout(session: Session) -> HttpResponse {
    session.purge();
    HttpResponse::NoContent().finish()
}

async fn logout_all(store: web::Data<VarelSessionStore>, session: Session) -> HttpResponse {
    let Some((user_id, _)) = logged_in(&session) else {
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
    // The session is gone on the server already: purging also removes the cookie.
    session.purge();
    match ended {
        Ok(ended) => HttpResponse::Ok().json(json!({ "ended": ended })),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({ "error": "not logged in" }))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let port: u16 = std::env::var("PORT")
        .unwrap_or_else(|_| "3000".into())
        .parse()?;
    let mut pg = deadpool_postgres::Config::new();
    pg.url = Some(url);
    let pool = pg.create_pool(None, tokio_postgres::NoTls)?;
    let store = VarelSessionStore::new(pool).with_user_key(USER);
    // The key that signs the cookie: a fresh one per start in this example (every session's
    // cookie becomes invalid on a restart); keep a fixed one in production.
    let key = Key::generate();
    println!("listening on http://127.0.0.1:{port}");
    HttpServer::new(move || {
        App::new()
            .wrap(
                SessionMiddleware::builder(store.clone(), key.clone())
                    // Plain HTTP on loopback in this example; keep Secure cookies behind HTTPS.
                    .cookie_secure(false)
                    .build(),
            )
            .app_data(web::Data::new(store.clone()))
            .route("/login", web::post().to(login))
            .route("/me", web::get().to(me))
            .route("/sessions", web::get().to(sessions))
            .route("/logout", web::post().to(logout))
            .route("/logout-all", web::post().to(logout_all))
    })
    .workers(2)
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
