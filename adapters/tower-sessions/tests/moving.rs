//! Moving a live app from tower-sessions-sqlx-store to varel_session, nobody logged out: an axum
//! app on `PostgresStore` (sqlx) in a database of its own has logged-in users (a new id, then
//! the user's id and a cart), the import runs while it serves and again after the switch, and
//! then, on `VarelStore::with_imported_from` and `ClaimImportedLayer`, every old cookie logs its
//! user in once, with their cart, under a new id.

mod support;

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use deadpool_postgres::Config;
use http::{header, Request, Uri};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use tower::ServiceExt;
use tower_sessions::{Session, SessionManagerLayer};
use tower_sessions_sqlx_store::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower_sessions_sqlx_store::PostgresStore;
use varel_session_tower_sessions::moving::{import_sqlx_store, SQLX_STORE};
use varel_session_tower_sessions::{ClaimImportedLayer, ImportOptions, ImportResult, VarelStore};

const DATABASE: &str = "varel_moving_tower";

/// The query parameter `name` (the values here need no decoding).
fn param(uri: &Uri, name: &str) -> String {
    let query = uri.query().unwrap_or_default();
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_default()
        .to_owned()
}

fn routes() -> Router {
    Router::new()
        .route(
            "/login",
            get(|session: Session, uri: Uri| async move {
                let user: i64 = param(&uri, "user").parse().unwrap();
                session.cycle_id().await.unwrap();
                session.insert("user_id", user).await.unwrap();
                session
                    .insert("cart", vec![format!("item-of-{user}")])
                    .await
                    .unwrap();
            }),
        )
        .route(
            "/add",
            get(|session: Session, uri: Uri| async move {
                let mut cart: Vec<String> = session.get("cart").await.unwrap().unwrap_or_default();
                cart.push(param(&uri, "item"));
                session.insert("cart", cart).await.unwrap();
            }),
        )
        .route(
            "/logout",
            get(|session: Session| async move { session.flush().await.unwrap() }),
        )
        .route(
            "/me",
            get(|session: Session| async move {
                Json(json!({
                    "user": session.get::<i64>("user_id").await.unwrap(),
                    "cart": session.get::<Vec<String>>("cart").await.unwrap(),
                }))
            }),
        )
}

/// One request with the cookie; the body and the cookie the response set.
async fn request(app: &Router, path: &str, cookie: Option<&str>) -> (Value, Option<String>) {
    let mut builder = Request::get(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, format!("id={cookie}"));
    }
    let response = app
        .clone()
        .oneshot(builder.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let set = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("id="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (serde_json::from_slice(&body).unwrap_or(Value::Null), set)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_moves_from_the_sqlx_store_and_nobody_is_logged_out() {
    let admin = support::pool().get().await.unwrap();
    // One statement each: DROP and CREATE DATABASE run outside a transaction block only.
    for statement in [
        "SET client_min_messages = warning".to_owned(),
        format!("DROP DATABASE IF EXISTS {DATABASE}"),
        format!("CREATE DATABASE {DATABASE}"),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let mut config = Config::new();
    config.host = Some(support::env("VAREL_TEST_HOST"));
    config.port = Some(support::env("VAREL_TEST_PORT").parse().unwrap());
    config.user = Some("postgres".into());
    config.dbname = Some(DATABASE.into());
    let pool = config.create_pool(None, tokio_postgres::NoTls).unwrap();
    let owner = pool.get().await.unwrap();
    owner
        .batch_execute("CREATE EXTENSION varel_session")
        .await
        .unwrap();

    // The old app, on tower-sessions-sqlx-store, with its own migration.
    let sqlx_pool = PgPoolOptions::new()
        .connect_with(
            PgConnectOptions::new()
                .host(&support::env("VAREL_TEST_HOST"))
                .port(config.port.unwrap())
                .username("postgres")
                .database(DATABASE),
        )
        .await
        .unwrap();
    let old_store = PostgresStore::new(sqlx_pool);
    old_store.migrate().await.unwrap();
    let old_app = routes().layer(SessionManagerLayer::new(old_store).with_secure(false));
    let mut old = HashMap::new();
    for user in ["1", "2", "3", "4"] {
        old.insert(
            user,
            request(&old_app, &format!("/login?user={user}"), None)
                .await
                .1
                .unwrap(),
        );
    }
    let options = ImportOptions {
        user_key: Some("user_id".into()),
        ..ImportOptions::default()
    };
    let first = import_sqlx_store(&owner, &options).await.unwrap();
    // Meanwhile: 2 adds to the cart, 3 logs out, 5 logs in; then the import runs again.
    request(&old_app, "/add?item=after-first-import", Some(&old["2"])).await;
    request(&old_app, "/logout", Some(&old["3"])).await;
    old.insert(
        "5",
        request(&old_app, "/login?user=5", None).await.1.unwrap(),
    );
    let second = import_sqlx_store(&owner, &options).await.unwrap();
    assert_eq!(
        first,
        ImportResult {
            imported: 4,
            skipped: 0,
            ended: 0
        }
    );
    assert_eq!(
        second,
        ImportResult {
            imported: 4,
            skipped: 0,
            ended: 1
        }
    );
    for cookie in old.values() {
        let clear: i64 = owner
            .query_one(
                "SELECT count(*) FROM varel_session.imported_sessions
                 WHERE position(convert_to($1, 'UTF8') IN id_hash) > 0 OR strpos(data::text, $1) > 0",
                &[cookie],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(clear, 0, "an old id is stored in clear");
    }

    // The switch.
    let store = VarelStore::new(pool.clone())
        .with_user_key("user_id")
        .with_imported_from(SQLX_STORE);
    let app = routes()
        .layer(ClaimImportedLayer)
        .layer(SessionManagerLayer::new(store).with_secure(false));
    for (user, cart) in [
        ("1", json!(["item-of-1"])),
        ("2", json!(["item-of-2", "after-first-import"])),
        ("4", json!(["item-of-4"])),
        ("5", json!(["item-of-5"])),
    ] {
        let want = json!({"user": user.parse::<i64>().unwrap(), "cart": cart});
        let (body, renewed) = request(&app, "/me", Some(&old[user])).await;
        assert_eq!(body, want, "user {user}");
        let renewed = renewed.expect("a new cookie");
        assert_ne!(renewed, old[user]);
        // A read with the new cookie saves nothing (and so sends no cookie): the claim layer
        // leaves sessions it did not claim unmodified.
        assert_eq!(
            request(&app, "/me", Some(&renewed)).await,
            (want.clone(), None)
        );
        let stale = request(&app, "/me", Some(&old[user])).await.0;
        assert_eq!(
            stale,
            json!({"user": null, "cart": null}),
            "user {user}: the old cookie again"
        );
    }
    // 3 logged out on the old store before the switch, and stays logged out.
    assert_eq!(
        request(&app, "/me", Some(&old["3"])).await.0,
        json!({"user": null, "cart": null})
    );
    let listed: i64 = owner
        .query_one(
            "SELECT count(*) FROM varel_session.session_user_sessions(1)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 1);

    // Two requests with one old cookie make one session.
    let twice = request(&old_app, "/login?user=6", None).await.1.unwrap();
    import_sqlx_store(&owner, &options).await.unwrap();
    let (a, b) = tokio::join!(
        request(&app, "/me", Some(&twice)),
        request(&app, "/me", Some(&twice))
    );
    let mut users = vec![a.0["user"].clone(), b.0["user"].clone()];
    users.sort_by_key(|u| u.is_null());
    assert_eq!(users, vec![json!(6), Value::Null]);

    // A bad cookie is no session and no row.
    let count = "SELECT count(*) FROM varel_session.sessions";
    let before: i64 = owner.query_one(count, &[]).await.unwrap().get(0);
    for cookie in ["AAAAAAAAAAAAAAAAAAAAAA", "not an id", twice.as_str()] {
        assert_eq!(
            request(&app, "/me", Some(cookie)).await.0,
            json!({"user": null, "cart": null})
        );
    }
    let after: i64 = owner.query_one(count, &[]).await.unwrap().get(0);
    assert_eq!(after, before);
}
