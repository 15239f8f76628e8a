//! Every pair of per-request writing functions, at every isolation level, compared with the
//! plain-SQL model (`tests/integration/sql/model.sql`), the way isolationtester pins
//! interleavings:
//!
//! - "waits": s1 runs its call and keeps its transaction open; s2 runs its call (which may wait
//!   for s1's row lock); s1 commits, rolls back, or rolls back to a savepoint taken before its
//!   call and commits; then s2 finishes.
//! - "snapshot first": s2 takes its snapshot, s1 runs and commits, then s2 runs its call.
//!
//! Each scenario runs once against the extension and once against the model, on a fresh
//! session whose idle deadline is due for a slide. Both calls' results (or SQLSTATEs, 40001
//! included), how each transaction ended, and the session afterwards (data, user, whether the
//! deadline slid, which of the tokens still work) must be the same. Under SERIALIZABLE the
//! comparison is of which transactions fail with 40001, at their statement or at COMMIT: SSI
//! detects a dangerous structure at either, depending on which index pages each read. The per-user cap, which plain SQL cannot keep under
//! REPEATABLE READ, has its own specs (tests/isolation/specs/cap_login_repeatable_read.spec).

use futures::future::join_all;
use std::time::Duration;
use tokio_postgres::Client;
use varel_session_integration::{install_model, ScratchDb};

const LEVELS: [&str; 3] = ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"];
const OPS: [&str; 16] = [
    "load",
    "set_key",
    "set_patch",
    "unset",
    "clear",
    "touch",
    "destroy",
    "regenerate",
    "set_user",
    "clear_user",
    "incr",
    "take",
    "push",
    "set_if",
    "set_data",
    "set_max_age",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Extension,
    Model,
}

#[derive(Clone, Copy, Debug)]
enum Order {
    Waits(End),
    SnapshotFirst,
}

#[derive(Clone, Copy, Debug)]
enum End {
    Commit,
    Rollback,
    SavepointRollback,
}

fn random_token() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The SQL of `op` on `side`, with `$1` the token; rotations of the model take the new token
/// as a literal.
fn call_sql(side: Side, op: &str, s: &str, user: i64) -> String {
    let (ext, model) = match op {
        "load" => (
            "SELECT data::text || (expires_at > now() + interval '50 minutes')::text FROM varel_session.session_load($1)".to_owned(),
            "SELECT data::text || (expires_at > now() + interval '50 minutes')::text FROM model.load($1)".to_owned(),
        ),
        "set_key" => (
            format!("SELECT varel_session.session_set($1, 'k', '{s}')::text"),
            format!("SELECT model.set_key($1, 'k', '{s}')::text"),
        ),
        "set_patch" => (
            format!("SELECT varel_session.session_set($1, '{{\"p\": \"{s}\", \"base\": null}}')::text"),
            format!("SELECT model.set_patch($1, '{{\"p\": \"{s}\", \"base\": null}}')::text"),
        ),
        "unset" => (
            "SELECT varel_session.session_unset($1, 'base')::text".to_owned(),
            "SELECT model.unset($1, 'base')::text".to_owned(),
        ),
        "clear" => (
            "SELECT varel_session.session_clear($1)::text".to_owned(),
            "SELECT model.clear($1)::text".to_owned(),
        ),
        "touch" => (
            "SELECT (varel_session.session_touch($1) > now() + interval '50 minutes')::text".to_owned(),
            "SELECT (model.touch($1) > now() + interval '50 minutes')::text".to_owned(),
        ),
        "destroy" => (
            "SELECT varel_session.session_destroy($1)::text".to_owned(),
            "SELECT model.destroy($1)::text".to_owned(),
        ),
        "regenerate" => (
            "SELECT varel_session.session_regenerate($1)".to_owned(),
            format!("SELECT model.rotate($1, '{}', 'regenerate', NULL)", random_token()),
        ),
        "set_user" => (
            format!("SELECT varel_session.session_set_user($1, {user})"),
            format!("SELECT model.rotate($1, '{}', 'set_user', {user})", random_token()),
        ),
        "clear_user" => (
            "SELECT varel_session.session_clear_user($1)".to_owned(),
            format!("SELECT model.rotate($1, '{}', 'clear_user', NULL)", random_token()),
        ),
        "incr" => (
            "SELECT varel_session.session_incr($1, 'n', 2)::text".to_owned(),
            "SELECT model.incr($1, 'n', 2)::text".to_owned(),
        ),
        "take" => (
            "SELECT varel_session.session_take($1, 'base')::text".to_owned(),
            "SELECT model.take($1, 'base')::text".to_owned(),
        ),
        "push" => (
            format!("SELECT varel_session.session_push($1, 'list', '\"{s}\"')::text"),
            format!("SELECT model.push($1, 'list', '\"{s}\"')::text"),
        ),
        "set_if" => (
            format!("SELECT varel_session.session_set_if($1, 'base', '0', '\"{s}\"')::text"),
            format!("SELECT model.set_if($1, 'base', '0', '\"{s}\"')::text"),
        ),
        "set_data" => (
            format!("SELECT varel_session.session_set_data($1, '{{\"all\": \"{s}\"}}')::text"),
            format!("SELECT model.set_data($1, '{{\"all\": \"{s}\"}}')::text"),
        ),
        "set_max_age" => (
            "SELECT (varel_session.session_set_max_age($1, '2 hours') > now() + interval '90 minutes')::text".to_owned(),
            "SELECT (model.set_max_age($1, '2 hours') > now() + interval '90 minutes')::text".to_owned(),
        ),
        _ => unreachable!(),
    };
    match side {
        Side::Extension => ext,
        Side::Model => model,
    }
}

/// A call's outcome: its value (a new token counts as "token"), "none", or the SQLSTATE.
type Outcome = Result<String, String>;

async fn run_call(client: &Client, sql: &str, token: &str, tokens: &mut Vec<String>) -> Outcome {
    match client.query(sql, &[&token]).await {
        Ok(rows) => {
            let value: Option<String> = rows.first().and_then(|r| r.get(0));
            match value {
                Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    tokens.push(v);
                    Ok("token".into())
                }
                Some(v) => Ok(v),
                None => Ok("none".into()),
            }
        }
        Err(e) => Err(e
            .code()
            .map(|c| c.code().to_owned())
            .unwrap_or_else(|| format!("{e}"))),
    }
}

/// Whether `client`'s backend is waiting for a lock.
async fn waiting(observer: &Client, pid: i32) -> bool {
    observer
        .query_one(
            "SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .await
        .map(|r| r.get(0))
        .unwrap_or(false)
}

struct Connections {
    s1: Client,
    s2: std::sync::Arc<Client>,
    s2_pid: i32,
    observer: Client,
}

/// One scenario on one side; returns everything that must agree.
async fn scenario(
    c: &Connections,
    side: Side,
    level: &str,
    op1: &str,
    op2: &str,
    order: Order,
) -> String {
    // A fresh session with data {"base": 0}, a one-hour lifetime and a deadline a minute away,
    // so a load is due to slide it.
    let table = match side {
        Side::Extension => "varel_session.sessions",
        Side::Model => "model.sessions",
    };
    let token: String = match side {
        Side::Extension => c
            .observer
            .query_one(
                "SELECT varel_session.session_new(max_age => '1 hour', data => '{\"base\": 0}')",
                &[],
            )
            .await
            .unwrap()
            .get(0),
        Side::Model => {
            let token = random_token();
            c.observer
                .query_one(
                    "SELECT model.new($1, 1, '1 hour', NULL, '{\"base\": 0}')",
                    &[&token],
                )
                .await
                .unwrap();
            token
        }
    };
    c.observer
        .execute(
            &format!(
                "UPDATE {table} SET expires_at = now() + interval '1 minute' \
                 WHERE token_hash = sha256(decode($1, 'hex'))"
            ),
            &[&token],
        )
        .await
        .unwrap();

    let mut tokens = vec![token.clone()];
    // A user of this level's and side's own, so the runners never wait for each other's user
    // lock (the model takes the same per-user lock as the extension).
    let side_offset = if side == Side::Model { 10 } else { 0 };
    let user = 4242 + side_offset + LEVELS.iter().position(|l| *l == level).unwrap() as i64;
    let sql1 = call_sql(side, op1, "one", user);
    let sql2 = call_sql(side, op2, "two", user);
    let begin = format!("BEGIN ISOLATION LEVEL {level}");
    let (r1, r2, end1, end2);
    match order {
        Order::Waits(end) => {
            c.s1.batch_execute(&begin).await.unwrap();
            if let End::SavepointRollback = end {
                c.s1.batch_execute("SAVEPOINT before_call").await.unwrap();
            }
            r1 = run_call(&c.s1, &sql1, &token, &mut tokens).await;
            c.s2.batch_execute(&begin).await.unwrap();
            let s2 = c.s2.clone();
            let (token2, sql2) = (token.clone(), sql2.clone());
            let second = tokio::spawn(async move {
                let mut made = Vec::new();
                let outcome = run_call(&s2, &sql2, &token2, &mut made).await;
                (outcome, made)
            });
            // Let s2 either finish or start waiting for s1.
            for _ in 0..500 {
                if second.is_finished() || waiting(&c.observer, c.s2_pid).await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let end_sql = match end {
                End::Commit => "COMMIT",
                End::Rollback => "ROLLBACK",
                End::SavepointRollback => "ROLLBACK TO SAVEPOINT before_call; COMMIT",
            };
            end1 = finish(&c.s1, end_sql).await;
            let (outcome, made) = second.await.unwrap();
            r2 = outcome;
            tokens.extend(made);
            end2 = finish(&c.s2, if r2.is_ok() { "COMMIT" } else { "ROLLBACK" }).await;
        }
        Order::SnapshotFirst => {
            c.s2.batch_execute(&begin).await.unwrap();
            c.s2.query_one("SELECT 1", &[]).await.unwrap();
            c.s1.batch_execute(&begin).await.unwrap();
            r1 = run_call(&c.s1, &sql1, &token, &mut tokens).await;
            end1 = finish(&c.s1, if r1.is_ok() { "COMMIT" } else { "ROLLBACK" }).await;
            r2 = run_call(&c.s2, &sql2, &token, &mut tokens).await;
            end2 = finish(&c.s2, if r2.is_ok() { "COMMIT" } else { "ROLLBACK" }).await;
        }
    }

    // The session afterwards: which tokens work (by position: the original, then new ones in
    // the order they were made), and its state through the first that works.
    let get = match side {
        Side::Extension => "varel_session.session_get",
        Side::Model => "model.get",
    };
    let mut working = Vec::new();
    let mut state = String::from("gone");
    for (i, t) in tokens.iter().enumerate() {
        let row = c
            .observer
            .query_opt(
                &format!(
                    "SELECT data::text || ' logged in ' || (user_id IS NOT NULL)::text || ' slid ' || \
                     (expires_at > now() + interval '50 minutes')::text FROM {get}($1)"
                ),
                &[t],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            working.push(i);
            state = row.get(0);
        }
    }
    format!(
        "s1 {} | s2 {} | tokens {working:?} | {state}",
        transaction_outcome(level, &r1, &end1),
        transaction_outcome(level, &r2, &end2)
    )
}

/// A transaction's call result and how it ended. Under SERIALIZABLE, PostgreSQL may detect the
/// same conflict at the statement or at COMMIT depending on which pages each side read first,
/// so there the comparison is of which transactions fail with 40001, not when.
fn transaction_outcome(level: &str, call: &Outcome, end: &str) -> String {
    let failed_at_call = call.as_ref().err().is_some_and(|code| code == "40001");
    let failed_at_commit = end.contains("40001");
    if level == "SERIALIZABLE" && (failed_at_call || failed_at_commit) {
        return "serialization failure".into();
    }
    format!("{call:?} {end}")
}

/// Ends a transaction; under SERIALIZABLE a COMMIT itself may fail with 40001, which is part of
/// the outcome (and is followed by a ROLLBACK).
async fn finish(client: &Client, sql: &str) -> String {
    match client.batch_execute(sql).await {
        Ok(()) => "ended".into(),
        Err(e) => {
            client.batch_execute("ROLLBACK").await.unwrap();
            format!("end failed {:?}", e.code().map(|c| c.code().to_owned()))
        }
    }
}

async fn connections(db: &ScratchDb) -> Connections {
    let s2 = db.connect().await;
    let s2_pid: i32 = s2
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    Connections {
        s1: db.connect().await,
        s2: std::sync::Arc::new(s2),
        s2_pid,
        observer: db.connect().await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_pair_of_writers_at_every_level_behaves_like_sql() {
    let db = ScratchDb::create().await;
    install_model(&db.connect().await).await;
    let orders = [
        Order::Waits(End::Commit),
        Order::Waits(End::Rollback),
        Order::Waits(End::SavepointRollback),
        Order::SnapshotFirst,
    ];
    // One runner per level, each with its own connections for the two sides.
    let runners = LEVELS.iter().map(|level| {
        let db = &db;
        async move {
            let ext = connections(db).await;
            let model = connections(db).await;
            let mut differences = Vec::new();
            let mut scenarios = 0;
            for op1 in OPS {
                for op2 in OPS {
                    for order in orders {
                        let (a, b) = futures::join!(
                            scenario(&ext, Side::Extension, level, op1, op2, order),
                            scenario(&model, Side::Model, level, op1, op2, order)
                        );
                        scenarios += 1;
                        if a != b {
                            differences.push(format!(
                                "{level}, {op1} then {op2}, {order:?}:\n  extension {a}\n  model     {b}"
                            ));
                        }
                    }
                }
            }
            (scenarios, differences)
        }
    });
    let mut total = 0;
    let mut differences = Vec::new();
    for (scenarios, found) in join_all(runners).await {
        total += scenarios;
        differences.extend(found);
    }
    println!("{total} scenarios compared");
    assert_eq!(total, LEVELS.len() * OPS.len() * OPS.len() * orders.len());
    assert!(
        differences.is_empty(),
        "{} of {total} scenarios differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    db.drop_now().await;
}
