//! Same-key atomic operations under real concurrency, and session events as a LISTENing
//! program (a websocket server closing a revoked user's sockets, say) receives them.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Barrier};
use tokio_postgres::Client;
use varel_session_integration::{
    api_db, connect, connections, expire_now, listen, new_session, unique_user_id, ScratchDb,
};

/// 16 connections increment one key 1,000 times each: exactly 16,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_of_one_key_lose_nothing() {
    const CLIENTS: usize = 16;
    const ROUNDS: i64 = 1_000;
    let admin = connect(&api_db()).await;
    let token = new_session(&admin, None).await;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let tasks = connections(&api_db(), CLIENTS)
        .await
        .into_iter()
        .map(|client| {
            let (token, barrier) = (token.clone(), barrier.clone());
            tokio::spawn(async move {
                let incr = client
                    .prepare("SELECT varel_session.session_incr($1, 'hits')")
                    .await
                    .unwrap();
                barrier.wait().await;
                let mut last = 0;
                for _ in 0..ROUNDS {
                    let value: Option<i64> =
                        client.query_one(&incr, &[&token]).await.unwrap().get(0);
                    let value = value.expect("the session is live");
                    assert!(
                        value > last,
                        "a counter went backwards: {value} after {last}"
                    );
                    last = value;
                }
            })
        });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    let total: Option<String> = admin
        .query_one("SELECT varel_session.session_get($1, 'hits')", &[&token])
        .await
        .unwrap()
        .get(0);
    assert_eq!(total.as_deref(), Some("16000"));
}

/// Concurrent pushes with a cap keep exactly the newest items, none twice; concurrent takes
/// of one flash message hand it to exactly one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_and_takes_are_exact() {
    let admin = connect(&api_db()).await;
    let token = new_session(&admin, None).await;
    let clients = connections(&api_db(), 8).await;
    let tasks = clients.into_iter().enumerate().map(|(c, client)| {
        let token = token.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                let item = serde_json::json!(c * 1000 + i);
                client
                    .query_one(
                        "SELECT varel_session.session_push($1, 'recent', $2, max_items => 100)",
                        &[&token, &item],
                    )
                    .await
                    .unwrap();
            }
            client
        })
    });
    let clients: Vec<Client> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let recent: serde_json::Value = admin
        .query_one(
            "SELECT data -> 'recent' FROM varel_session.session_get($1)",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    let items = recent.as_array().unwrap();
    assert_eq!(items.len(), 100, "the cap keeps exactly 100");
    let mut distinct: Vec<_> = items.iter().map(|v| v.as_i64().unwrap()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 100, "no item twice");

    for round in 0..20 {
        admin
            .query_one(
                "SELECT varel_session.session_set($1, 'flash', $2)",
                &[&token, &format!("message {round}")],
            )
            .await
            .unwrap();
        let takes = clients.iter().map(|client| {
            let token = token.clone();
            async move {
                let taken: Option<serde_json::Value> = client
                    .query_one("SELECT varel_session.session_take($1, 'flash')", &[&token])
                    .await
                    .unwrap()
                    .get(0);
                taken
            }
        });
        let got: Vec<_> = futures::future::join_all(takes)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(
            got.len(),
            1,
            "round {round}: the flash was taken {} times",
            got.len()
        );
    }
}

/// A client that LISTENs on the events channel and hands over every payload.
async fn listener() -> (Client, mpsc::UnboundedReceiver<serde_json::Value>) {
    listener_on("test_session_events").await
}

/// A client that LISTENs on `channel` and hands over every payload.
async fn listener_on(channel: &str) -> (Client, mpsc::UnboundedReceiver<serde_json::Value>) {
    listen(&api_db(), channel).await
}

/// Everything that arrives within a short while.
async fn drain(rx: &mut mpsc::UnboundedReceiver<serde_json::Value>) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        got.push(event);
    }
    got
}

#[tokio::test]
async fn events_arrive_on_commit_with_handles_never_tokens() {
    let (_listening, mut rx) = listener().await;
    let app = connect(&api_db()).await;
    app.batch_execute(
        "SET varel_session.events = on; SET varel_session.events_channel = 'test_session_events'",
    )
    .await
    .unwrap();
    let user = unique_user_id();

    // A session's life: created, logged in, rotated, logged out, destroyed.
    let token: String = app
        .query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap()
        .get(0);
    let token: String = app
        .query_one(
            "SELECT varel_session.session_set_user($1, $2)",
            &[&token, &user],
        )
        .await
        .unwrap()
        .get(0);
    let token: String = app
        .query_one("SELECT varel_session.session_regenerate($1)", &[&token])
        .await
        .unwrap()
        .get(0);
    let token: String = app
        .query_one("SELECT varel_session.session_clear_user($1)", &[&token])
        .await
        .unwrap()
        .get(0);
    app.query_one("SELECT varel_session.session_destroy($1)", &[&token])
        .await
        .unwrap();
    let got = drain(&mut rx).await;
    let names: Vec<&str> = got.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["created", "logged_in", "rotated", "logged_out", "destroyed"]
    );
    let handle = got[0]["handle"].as_str().unwrap().to_owned();
    assert_eq!(handle.len(), 16);
    for event in &got {
        assert_eq!(
            event["handle"],
            serde_json::json!(handle),
            "one session, one handle"
        );
        assert!(event["at"].as_str().unwrap().ends_with('Z'));
        let text = event.to_string();
        assert!(!text.contains(&token), "a token in an event: {text}");
    }
    assert_eq!(got[1]["user_id"], serde_json::json!(user));
    assert_eq!(got[3]["user_id"], serde_json::Value::Null);
    // Not the token's hash either.
    let hash: Vec<u8> = app
        .query_one("SELECT varel_session_internal.token_hash($1)", &[&token])
        .await
        .unwrap()
        .get(0);
    let hex_hash: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert!(got.iter().all(|e| !e.to_string().contains(&hex_hash)));

    // Rolled back: nothing is sent.
    app.batch_execute("BEGIN").await.unwrap();
    app.query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap();
    app.batch_execute("ROLLBACK").await.unwrap();
    assert!(
        drain(&mut rx).await.is_empty(),
        "a rolled-back creation was announced"
    );

    // The websocket use case: "log out everywhere" announces every session it ended, with the
    // user, so a server can close that user's sockets.
    app.batch_execute("SET varel_session.max_sessions_per_user = 2")
        .await
        .unwrap();
    for _ in 0..3 {
        app.query_one("SELECT varel_session.session_new(user_id => $1)", &[&user])
            .await
            .unwrap();
    }
    let got = drain(&mut rx).await;
    let names: Vec<&str> = got.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["created", "created", "evicted", "created"],
        "the cap's eviction is announced"
    );
    app.query_one("SELECT varel_session.session_user_revoke($1)", &[&user])
        .await
        .unwrap();
    let got = drain(&mut rx).await;
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .all(|e| e["event"] == "revoked" && e["user_id"] == serde_json::json!(user)));

    // Off by default: another connection's calls send nothing.
    let quiet = connect(&api_db()).await;
    quiet
        .query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap();
    assert!(drain(&mut rx).await.is_empty());
}

/// Cleanup announces each session it removes, with its handle and user, then the run. In a
/// database of its own: a cleanup removes every expired session, other tests' too.
#[tokio::test]
async fn cleanup_announces_each_expired_session() {
    let db = ScratchDb::create().await;
    let (_listening, mut rx) = listen(&db.name, "test_session_events").await;
    let app = db.connect().await;
    app.batch_execute(
        "SET varel_session.events = on; SET varel_session.events_channel = 'test_session_events'",
    )
    .await
    .unwrap();
    let user = unique_user_id();
    let expiring = new_session(&app, Some(user)).await;
    let live = new_session(&app, None).await;
    let handle: String = app
        .query_one("SELECT varel_session.session_handle($1)", &[&expiring])
        .await
        .unwrap()
        .get(0);
    expire_now(&app, &expiring).await;
    drain(&mut rx).await;
    let removed: i64 = app
        .query_one("SELECT varel_session.session_cleanup()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(removed, 1);
    let got = drain(&mut rx).await;
    let names: Vec<&str> = got.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["expired", "cleanup"], "{got:?}");
    assert_eq!(got[0]["handle"], serde_json::json!(handle));
    assert_eq!(got[0]["user_id"], serde_json::json!(user));
    assert_eq!(got[1]["removed"], serde_json::json!(1));
    assert!(got.iter().all(|e| !e.to_string().contains(&expiring)));

    // Events off: the same cleanup announces nothing per session (the run's event neither).
    app.batch_execute("SET varel_session.events = off")
        .await
        .unwrap();
    expire_now(&app, &live).await;
    let removed: i64 = app
        .query_one("SELECT varel_session.session_cleanup()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(removed, 1);
    assert!(drain(&mut rx).await.is_empty());
    drop(app);
    db.drop_now().await;
}

/// An application role cannot turn events on or redirect them (the C edition's settings are
/// SUSET; the SQL edition ignores them in its session).
#[tokio::test]
async fn event_settings_are_policy() {
    let app = connect(&api_db()).await;
    let role = varel_session_integration::unique_name("app");
    app.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA varel_session TO {role}; \
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO {role}"
    ))
    .await
    .unwrap();
    let as_app = varel_session_integration::connect_as(&api_db(), &role)
        .await
        .unwrap();
    as_app
        .query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap();
    let sql_edition: bool = app
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'varel_session_sql')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if sql_edition {
        // Without a library the settings are placeholders anyone may SET; the SQL edition
        // ignores them in an application role's session (its policy is a table): no event.
        let channel = varel_session_integration::unique_name("events");
        let (_listening, mut rx) = listener_on(&channel).await;
        as_app
            .batch_execute(&format!(
                "SET varel_session.events = on; SET varel_session.events_channel = '{channel}'"
            ))
            .await
            .unwrap();
        as_app
            .query_one("SELECT varel_session.session_new()", &[])
            .await
            .unwrap();
        assert!(
            drain(&mut rx).await.is_empty(),
            "the app role turned events on"
        );
    } else {
        for setting in [
            "varel_session.events = on",
            "varel_session.events_channel = 'x'",
        ] {
            let error = as_app
                .batch_execute(&format!("SET {setting}"))
                .await
                .unwrap_err();
            assert_eq!(error.code().map(|c| c.code()), Some("42501"), "{setting}");
        }
    }
    drop(as_app);
    app.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await
        .unwrap();
}
