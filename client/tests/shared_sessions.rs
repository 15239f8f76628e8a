//! One database, three languages: a session created by a Rust app is read and written by a
//! Django app and an Express app (through their adapters in `adapters/`), and sessions they
//! create are read by the Rust app. `scripts/test.sh` sets `VAREL_PYTHON` (the adapters' venv)
//! and installs the Express adapter's packages. It runs in a database of its own (the three apps
//! create sessions that tests counting `varel_it`'s rows must not see).

mod common;

use common::{env, pool_on};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use varel_session_client::{Config, PostgresStore, Session, SessionStore};

fn adapters() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../adapters")
}

/// Runs one side's `share` script with `args` against database `db`; returns its output.
fn run(db: &str, side: &str, args: &[&str]) -> String {
    let host = env("VAREL_TEST_HOST");
    let port = env("VAREL_TEST_PORT");
    let mut command = match side {
        "django" => {
            let mut c = Command::new(env("VAREL_PYTHON"));
            c.arg(adapters().join("django/tests/share.py"));
            c
        }
        _ => {
            let mut c = Command::new("node");
            c.arg(adapters().join("express/share.js"));
            c
        }
    };
    let output = command
        .args(args)
        .env(
            "VAREL_DJANGO_DSN",
            format!("host={host} port={port} dbname={db} user=postgres"),
        )
        .env(
            "VAREL_EXPRESS_DATABASE_URL",
            format!("postgresql://postgres@/{db}?host={host}&port={port}"),
        )
        .output()
        .unwrap_or_else(|e| panic!("{side}: {e}"));
    assert!(
        output.status.success(),
        "{side} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn rust_django_and_express_apps_share_sessions() {
    let (host, port) = (env("VAREL_TEST_HOST"), env("VAREL_TEST_PORT"));
    let db = format!("varel_shared_{}", std::process::id());
    let admin = pool_on(&host, &port, "postgres", Some(1));
    let admin = admin.get().await.unwrap();
    // One statement per call: a multi-statement query is one transaction, which DROP DATABASE
    // and CREATE DATABASE refuse.
    for statement in [
        format!("DROP DATABASE IF EXISTS {db}"),
        format!("CREATE DATABASE {db} TEMPLATE varel_template"),
    ] {
        admin.batch_execute(&statement).await.unwrap();
    }
    let store = PostgresStore::new(pool_on(&host, &port, &db, None), Config::default()).unwrap();
    let run = |side: &str, args: &[&str]| run(&db, side, args);

    // Rust creates; Django and Express read it and each add a key; Rust sees both.
    let mut session = Session::new();
    session.set("from", "rust");
    session.set("cart", json!([1, 2]));
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    let seen: Value = serde_json::from_str(&run("django", &["read-and-add", &token])).unwrap();
    assert_eq!(seen, json!({"cart": [1, 2], "from": "rust"}));
    let seen: Value = serde_json::from_str(&run("express", &["read-and-add", &token])).unwrap();
    assert_eq!(
        seen,
        json!({"cart": [1, 2], "django_saw": true, "from": "rust"})
    );
    let loaded = store.load(&token).await.unwrap().expect("live");
    assert_eq!(loaded.get("django_saw"), Some(&json!(true)));
    assert_eq!(loaded.get("express_saw"), Some(&json!(true)));
    assert_eq!(loaded.get("cart"), Some(&json!([1, 2])));

    // Django and Express create; Rust reads.
    for side in ["django", "express"] {
        let token = run(side, &["create"]);
        assert_eq!(token.len(), 64, "{side}: {token}");
        let loaded = store.load(&token).await.unwrap().expect("live");
        assert_eq!(loaded.get("from"), Some(&json!(side)));
    }

    drop(store);
    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await
        .unwrap();
}
