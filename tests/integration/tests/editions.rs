//! Moving a database between the C edition (`varel_session`) and the SQL edition
//! (`varel_session_sql`) with the scripts in `sql_edition/switch/` logs nobody out, both ways:
//! the two editions keep sessions in the same table layout, so every row moves as it is, and
//! an application's connection (with a statement prepared before the switch) carries on with
//! the other edition's functions under the same names.

use tokio_postgres::Client;
use varel_session_integration::{all_sessions, env, expire_now, run_pg_program, ScratchDb};

/// Runs one of the switch scripts with psql, as an administrator would; returns its output.
fn switch(db: &str, script: &str) -> String {
    let path = format!(
        "{}/../../sql_edition/switch/{script}",
        env!("CARGO_MANIFEST_DIR")
    );
    let (host, port) = (env("VAREL_TEST_HOST"), env("VAREL_TEST_PORT"));
    run_pg_program(
        "psql",
        &[
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
            "-h",
            &host,
            "-p",
            &port,
            "-d",
            db,
            "-f",
            &path,
        ],
    )
}

async fn edition(client: &Client) -> String {
    client
        .query_one(
            "SELECT extname FROM pg_extension WHERE extname LIKE 'varel_session%'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// What the API says about each token (the row of session_get, or nothing).
async fn seen(client: &Client, tokens: &[String]) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for token in tokens {
        let row = client
            .query_opt(
                "SELECT g::text FROM varel_session.session_get($1) AS g",
                &[token],
            )
            .await
            .unwrap();
        out.push(row.map(|r| r.get(0)));
    }
    out
}

/// The data of the session claimed by an imported old id, or None.
async fn claim(client: &Client, old_id: &str) -> Option<String> {
    client
        .query_opt(
            "SELECT data::text FROM varel_session.session_claim('django', $1)",
            &[&old_id],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}

#[tokio::test]
async fn switching_editions_both_ways_keeps_every_session() {
    let db = ScratchDb::create().await;
    let admin = db.connect().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} SET varel_session.max_sessions_per_user = 3",
            db.name
        ))
        .await
        .unwrap();
    let admin = db.connect().await; // sees the database's setting
    assert_eq!(edition(&admin).await, "varel_session");

    // Sessions of every kind under the C edition.
    let mut tokens = Vec::new();
    for (user, data, max_age) in [
        (None, r#"{"cart": [1, 2]}"#, None),
        (Some(81i64), r#"{"theme": "dark"}"#, Some("30 days")),
        (Some(81), "{}", None),
    ] {
        let token: String = admin
            .query_one(
                "SELECT varel_session.session_new(user_id => $1, data => $2::text::jsonb, \
                 max_age => $3::text::interval, ip => '192.0.2.8', user_agent => 'switch/1')",
                &[&user, &data, &max_age],
            )
            .await
            .unwrap()
            .get(0);
        tokens.push(token);
    }
    let expired: String = admin
        .query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap()
        .get(0);
    expire_now(&admin, &expired).await;
    tokens.push(expired);
    // Two sessions imported from another store, not claimed yet (docs/moving.md).
    admin
        .batch_execute(
            "SELECT varel_session.session_import('django', 'old-cookie-' || n, \
             jsonb_build_object('n', n), now() + interval '1 day') FROM generate_series(1, 2) n",
        )
        .await
        .unwrap();
    let rows_before = all_sessions(&admin).await;
    let seen_before = seen(&admin, &tokens).await;
    assert_eq!(seen_before.iter().filter(|s| s.is_some()).count(), 3);

    // An application connection with a statement prepared under the C edition.
    let app = db.connect().await;
    let get = app
        .prepare("SELECT data FROM varel_session.session_get($1)")
        .await
        .unwrap();
    assert_eq!(app.query(&get, &[&tokens[0]]).await.unwrap().len(), 1);

    switch(&db.name, "to_sql_edition.sql");
    let admin = db.connect().await;
    assert_eq!(edition(&admin).await, "varel_session_sql");
    assert_eq!(
        all_sessions(&admin).await,
        rows_before,
        "rows changed in the switch"
    );
    assert_eq!(seen(&admin, &tokens).await, seen_before);
    // The C edition's setting became the SQL edition's policy.
    let cap: i32 = admin
        .query_one(
            "SELECT max_sessions_per_user FROM varel_session.settings",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cap, 3);
    // The application's prepared statement works against the SQL edition's function.
    assert_eq!(app.query(&get, &[&tokens[0]]).await.unwrap().len(), 1);

    // The SQL edition works on the moved sessions: writes, rotation, the user's list.
    let written: bool = admin
        .query_one(
            "SELECT varel_session.session_set($1, 'edition', 'sql')",
            &[&tokens[0]],
        )
        .await
        .unwrap()
        .get(0);
    assert!(written);
    let rotated: String = admin
        .query_one(
            "SELECT varel_session.session_set_user($1, 81)",
            &[&tokens[1]],
        )
        .await
        .unwrap()
        .get(0);
    tokens[1] = rotated;
    let listed: i64 = admin
        .query_one(
            "SELECT count(*) FROM varel_session.session_user_sessions(81)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 2);
    // An imported session came along, and is claimed under the SQL edition.
    assert_eq!(
        claim(&admin, "old-cookie-1").await.as_deref(),
        Some(r#"{"n": 1}"#)
    );
    let created_here: String = admin
        .query_one(
            "SELECT varel_session.session_new(data => '{\"made\": \"sql\"}')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    tokens.push(created_here);
    let rows_sql = all_sessions(&admin).await;
    let seen_sql = seen(&admin, &tokens).await;

    let printed = switch(&db.name, "to_c_edition.sql");
    assert!(
        printed.contains("varel_session.max_sessions_per_user = '3'"),
        "the policy is printed for the C edition: {printed}"
    );
    let admin = db.connect().await;
    assert_eq!(edition(&admin).await, "varel_session");
    assert_eq!(
        all_sessions(&admin).await,
        rows_sql,
        "rows changed in the switch back"
    );
    assert_eq!(seen(&admin, &tokens).await, seen_sql);
    assert_eq!(app.query(&get, &[&tokens[4]]).await.unwrap().len(), 1);
    // The claimed old id stays dead across the switch back; the other one still works, once.
    assert_eq!(claim(&admin, "old-cookie-1").await, None);
    assert_eq!(
        claim(&admin, "old-cookie-2").await.as_deref(),
        Some(r#"{"n": 2}"#)
    );
    assert_eq!(claim(&admin, "old-cookie-2").await, None);

    drop((admin, app));
    db.drop_now().await;
}
