//! Replicas, with real clusters that `scripts/test.sh` starts:
//!
//! - a streaming standby of the test cluster (`pg_basebackup`, `VAREL_STANDBY_HOST/PORT`):
//!   it serves `session_get` with the primary's data, and `session_load` there reads without
//!   sliding; writes are refused as in any read-only transaction;
//! - a logical-replication subscriber (its own cluster, `VAREL_SUBSCRIBER_HOST/PORT`) of a
//!   publication of the sessions table: it receives every API write (create, set, rotate, log
//!   in, log out, destroy, revoke, cleanup) and ends identical to the publisher.

use std::time::{Duration, Instant};
use tokio_postgres::Client;
use varel_session_integration::{connect, connect_with, env, unique_name, ScratchDb, DB};

async fn connect_to(host_var: &str, port_var: &str, db: &str) -> Client {
    connect_with(
        tokio_postgres::Config::new()
            .host(env(host_var))
            .port(env(port_var).parse().unwrap())
            .user("postgres")
            .dbname(db),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {host_var}: {e}"))
}

/// Waits until the standby has replayed everything the primary has written so far.
async fn wait_for_replay(primary: &Client, standby: &Client) {
    let target: String = primary
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let started = Instant::now();
    loop {
        let caught_up: bool = standby
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&target],
            )
            .await
            .unwrap()
            .get(0);
        if caught_up {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the standby did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_streaming_standby_serves_reads_and_never_slides() {
    let primary = connect(DB).await;
    let standby = connect_to("VAREL_STANDBY_HOST", "VAREL_STANDBY_PORT", DB).await;
    let in_recovery: bool = standby
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(in_recovery, "the standby is not a standby");

    let token: String = primary
        .query_one(
            "SELECT varel_session.session_new(max_age => '1 hour', user_id => 90001, data => '{\"on\": \"primary\"}')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // Make a slide due: less than 80% of max_age left.
    primary
        .execute(
            "UPDATE varel_session.sessions SET expires_at = now() + interval '10 minutes' \
             WHERE token_hash = varel_session_internal.token_hash($1)",
            &[&token],
        )
        .await
        .unwrap();
    wait_for_replay(&primary, &standby).await;

    let row = standby
        .query_one(
            "SELECT data::text, user_id, expires_at::text FROM varel_session.session_get($1)",
            &[&token],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), r#"{"on": "primary"}"#);
    assert_eq!(row.get::<_, Option<i64>>(1), Some(90001));
    let deadline: String = row.get(2);
    let key: Option<String> = standby
        .query_one("SELECT varel_session.session_get($1, 'on')", &[&token])
        .await
        .unwrap()
        .get(0);
    assert_eq!(key.as_deref(), Some("primary"));

    // session_load reads, and does not try to slide on a standby.
    let loaded: String = standby
        .query_one(
            "SELECT expires_at::text FROM varel_session.session_load($1)",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(loaded, deadline, "session_load slid on a standby");
    // Listing works too (a SQL function, read-only).
    let listed: i64 = standby
        .query_one(
            "SELECT count(*) FROM varel_session.session_user_sessions(90001)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 1);
    // Writes are refused as in any read-only transaction.
    let refused = standby
        .query_one("SELECT varel_session.session_set($1, 'k', 'v')", &[&token])
        .await
        .unwrap_err();
    assert_eq!(refused.code().map(|c| c.code()), Some("25006"));
    // On the primary the same load slides.
    let slid: bool = primary
        .query_one(
            "SELECT expires_at > now() + interval '50 minutes' FROM varel_session.session_load($1)",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert!(slid);
    primary
        .query_one("SELECT varel_session.session_user_revoke(90001)", &[])
        .await
        .unwrap();
}

const ROWS: &str = "SELECT coalesce(string_agg(s::text, E'\\n' ORDER BY token_hash), '') \
                    FROM varel_session.sessions s";

#[tokio::test]
async fn a_logical_subscriber_receives_every_api_write() {
    let source = ScratchDb::create().await;
    let publisher = source.connect().await;
    publisher
        .batch_execute("CREATE PUBLICATION varel_pub FOR TABLE varel_session.sessions")
        .await
        .unwrap();
    // Some sessions exist before the subscription: the initial copy carries them.
    let early: String = publisher
        .query_one(
            "SELECT varel_session.session_new(data => '{\"early\": true}')",
            &[],
        )
        .await
        .unwrap()
        .get(0);

    let target = unique_name("subscriber");
    let sub_admin = connect_to("VAREL_SUBSCRIBER_HOST", "VAREL_SUBSCRIBER_PORT", "postgres").await;
    sub_admin
        .batch_execute(&format!("CREATE DATABASE {target}"))
        .await
        .unwrap();
    let subscriber = connect_to("VAREL_SUBSCRIBER_HOST", "VAREL_SUBSCRIBER_PORT", &target).await;
    let slot = unique_name("slot");
    subscriber
        .batch_execute("CREATE EXTENSION varel_session")
        .await
        .unwrap();
    // CREATE SUBSCRIPTION cannot run in a transaction block, which a multi-statement batch is.
    subscriber
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION {slot} CONNECTION 'host={} port={} user=postgres dbname={}' \
                 PUBLICATION varel_pub WITH (slot_name = '{slot}')",
            env("VAREL_TEST_HOST"),
            env("VAREL_TEST_PORT"),
            source.name
        ))
        .await
        .unwrap();

    // Every kind of API write.
    publisher
        .batch_execute("SET varel_session.max_sessions_per_user = 2")
        .await
        .unwrap();
    for i in 0..5 {
        publisher
            .query_one(
                "SELECT varel_session.session_new(user_id => $1, data => jsonb_build_object('i', $2::int))",
                &[&(80_000i64 + i % 2), &(i as i32)],
            )
            .await
            .unwrap();
    }
    let anon: String = publisher
        .query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap()
        .get(0);
    let statements = [
        "SELECT varel_session.session_set($1, 'k', 'v')::text",
        "SELECT varel_session.session_set($1, '{\"p\": [1]}')::text",
        "SELECT varel_session.session_unset($1, 'k')::text",
        "SELECT varel_session.session_touch($1)::text",
        "SELECT varel_session.session_regenerate($1)",
    ];
    let mut current = early.clone();
    for sql in statements {
        let out: Option<String> = publisher.query_one(sql, &[&current]).await.unwrap().get(0);
        if sql.contains("regenerate") {
            current = out.expect("regenerated");
        }
    }
    // Log in (with the cap ending an older session of the user), log out, destroy, revoke.
    let logged_in: String = publisher
        .query_one("SELECT varel_session.session_set_user($1, 80000)", &[&anon])
        .await
        .unwrap()
        .get(0);
    let logged_out: String = publisher
        .query_one("SELECT varel_session.session_clear_user($1)", &[&logged_in])
        .await
        .unwrap()
        .get(0);
    publisher
        .query_one("SELECT varel_session.session_destroy($1)", &[&logged_out])
        .await
        .unwrap();
    publisher
        .query_one("SELECT varel_session.session_user_revoke(80001)", &[])
        .await
        .unwrap();
    // Cleanup of expired sessions.
    publisher
        .batch_execute(
            "UPDATE varel_session.sessions SET expires_at = now() - interval '1 second'
             WHERE user_id = 80000 AND ctid = (SELECT min(ctid) FROM varel_session.sessions WHERE user_id = 80000)",
        )
        .await
        .unwrap();
    let cleaned: i64 = publisher
        .query_one("SELECT varel_session.session_cleanup()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(cleaned, 1);

    let expected: String = publisher.query_one(ROWS, &[]).await.unwrap().get(0);
    let started = Instant::now();
    loop {
        let got: String = subscriber.query_one(ROWS, &[]).await.unwrap().get(0);
        if got == expected {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the subscriber did not converge:\npublisher:\n{expected}\nsubscriber:\n{got}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The replicated tokens work on the subscriber.
    let found = subscriber
        .query("SELECT 1 FROM varel_session.session_get($1)", &[&current])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    subscriber
        .batch_execute(&format!("DROP SUBSCRIPTION {slot}"))
        .await
        .unwrap();
    drop(subscriber);
    sub_admin
        .batch_execute(&format!("DROP DATABASE {target} WITH (FORCE)"))
        .await
        .unwrap();
    drop(publisher);
    source.drop_now().await;
}
