//! The same small axum app on three session stacks, for bench/headtohead.py:
//!
//! - `varel`: varel-session-client's `SessionLayer` over the varel_session extension;
//! - `tower-pg`: tower-sessions with its sqlx PostgreSQL store;
//! - `tower-redis`: tower-sessions with its Redis (fred) store.
//!
//! All three with sliding expiry (24 hours of inactivity; tower-sessions slides its store's
//! expiry only when it saves, so it is configured to save on every request, as its docs say for
//! `Expiry::OnInactivity`) and the same cookie attributes (HttpOnly, SameSite=Strict, Path=/, no
//! Secure on this plain-HTTP loopback).
//!
//! Routes: `POST /login` starts a session holding a user id and a name; `GET /read` reads the
//! name; `POST /incr` adds one to a counter in the session, as each stack's user would write it
//! (varel: one atomic `incr`; tower-sessions: get, +1, insert, which its API offers); `GET
//! /count` reads the counter (to count lost increments).
//!
//! ```sh
//! headtohead varel postgresql://postgres@127.0.0.1:54323/bench 127.0.0.1:3001
//! headtohead tower-pg postgresql://postgres@127.0.0.1:54323/bench 127.0.0.1:3002
//! headtohead tower-redis redis://127.0.0.1:6390 127.0.0.1:3003
//! ```

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use std::time::Duration;

/// Connections each stack keeps to its store (the same for all three).
const POOL_SIZE: usize = 16;

mod varel {
    use super::*;
    use varel_session_client::axum::{CurrentSession, SessionLayer};
    use varel_session_client::{Config, PostgresStore};

    pub async fn app(url: &str) -> Router {
        let mut pg = deadpool_postgres::Config::new();
        pg.url = Some(url.into());
        pg.pool = Some(deadpool_postgres::PoolConfig::new(POOL_SIZE));
        let pool = pg
            .create_pool(None, tokio_postgres::NoTls)
            .expect("a pool");
        let config = Config {
            cookie_name: "id".into(),
            secure: Some(false),
            max_age: Duration::from_secs(24 * 3600),
            ..Config::default()
        };
        let store = PostgresStore::new(pool, config).expect("a valid config");
        Router::new()
            .route("/login", post(login))
            .route("/read", get(read))
            .route("/incr", post(incr))
            .route("/count", get(count))
            .layer(SessionLayer::new(store))
    }

    async fn login(session: CurrentSession) -> &'static str {
        session.set("name", "bench");
        session.log_in(42);
        "ok"
    }

    async fn read(session: CurrentSession) -> Result<String, StatusCode> {
        session
            .get_as::<String>("name")
            .ok_or(StatusCode::UNAUTHORIZED)
    }

    async fn incr(session: CurrentSession) -> Result<String, StatusCode> {
        if !session.exists() {
            return Err(StatusCode::UNAUTHORIZED);
        }
        match session.incr("counter", 1).await {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    async fn count(session: CurrentSession) -> String {
        session.get_as::<i64>("counter").unwrap_or(0).to_string()
    }
}

mod tower {
    use super::*;
    use tower_sessions::cookie::SameSite;
    use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore};

    pub fn app<S: SessionStore + Clone>(store: S) -> Router {
        let layer = SessionManagerLayer::new(store)
            .with_name("id")
            .with_secure(false)
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(time::Duration::hours(24)))
            // Without it, a request that only reads never moves the store's expiry.
            .with_always_save(true);
        Router::new()
            .route("/login", post(login))
            .route("/read", get(read))
            .route("/incr", post(incr))
            .route("/count", get(count))
            .layer(layer)
    }

    fn failed<E>(_: E) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    async fn login(session: Session) -> Result<&'static str, StatusCode> {
        session.insert("name", "bench").await.map_err(failed)?;
        session.insert("user_id", 42).await.map_err(failed)?;
        session.cycle_id().await.map_err(failed)?;
        Ok("ok")
    }

    async fn read(session: Session) -> Result<String, StatusCode> {
        session
            .get::<String>("name")
            .await
            .map_err(failed)?
            .ok_or(StatusCode::UNAUTHORIZED)
    }

    async fn incr(session: Session) -> Result<String, StatusCode> {
        if session.get::<String>("name").await.map_err(failed)?.is_none() {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let n = session
            .get::<i64>("counter")
            .await
            .map_err(failed)?
            .unwrap_or(0)
            + 1;
        session.insert("counter", n).await.map_err(failed)?;
        Ok(n.to_string())
    }

    async fn count(session: Session) -> Result<String, StatusCode> {
        let n = session.get::<i64>("counter").await.map_err(failed)?;
        Ok(n.unwrap_or(0).to_string())
    }
}

async fn tower_pg(url: &str) -> Router {
    use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE as u32)
        .connect(url)
        .await
        .expect("connect to PostgreSQL");
    let store = tower_sessions_sqlx_store::PostgresStore::new(pool);
    store.migrate().await.expect("create tower-sessions' table");
    tower::app(store)
}

async fn tower_redis(url: &str) -> Router {
    use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
    use tower_sessions_redis_store::RedisStore;
    let config = Config::from_url(url).expect("a redis:// URL");
    let pool = Pool::new(config, None, None, None, POOL_SIZE).expect("a Redis pool");
    pool.init().await.expect("connect to Redis");
    tower::app(RedisStore::new(pool))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, stack, url, bind] = args.as_slice() else {
        eprintln!("usage: headtohead varel|tower-pg|tower-redis STORE_URL BIND_ADDRESS");
        std::process::exit(2);
    };
    let app = match stack.as_str() {
        "varel" => varel::app(url).await,
        "tower-pg" => tower_pg(url).await,
        "tower-redis" => tower_redis(url).await,
        other => {
            eprintln!("unknown stack {other}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .expect("bind the address");
    println!("{stack} listening on http://{bind}");
    axum::serve(listener, app).await.expect("serve");
}
