//! Differential test: random concurrent operation sequences run against the extension and
//! against a plain-SQL model of the same contract (`tests/integration/sql/model.sql`:
//! `UPDATE ... WHERE token_hash = ... RETURNING`, what the executor does), in the same
//! database. Each operation runs on both inside one transaction (extension first, then model,
//! with the extension's tokens, so both tables have the same keys), so concurrent transactions
//! reach both in the same order; the results must agree call by call, and at the end the two
//! tables must hold the same rows, column by column.
//!
//! Sessions come in two kinds: shared ones (one-hour lifetime, written by every worker, so the
//! extension's waiting and following of concurrent updates is compared with the executor's),
//! and each worker's private ones (a three-second lifetime, so deadlines slide, throttle and
//! expire while the test runs; compared without concurrency, since a slide that finds the row
//! busy is skipped by design and the two sides would race).

use rand::seq::IndexedRandom;
use rand::Rng;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;
use varel_session_integration::{install_model, ScratchDb};

const WORKERS: usize = 6;

/// Whether the run is against the SQL edition (`scripts/test.sh` sets `VAREL_TEST_TEMPLATE`).
fn sql_edition() -> bool {
    std::env::var("VAREL_TEST_TEMPLATE").is_ok_and(|t| t == "varel_template_sql")
}
const RUN_FOR: Duration = Duration::from_secs(20);

/// What a call returned, as text, comparable across the two sides.
async fn one(client: &Client, sql: &str, args: &[&(dyn ToSql + Sync)]) -> String {
    match client.query(sql, args).await {
        Ok(rows) => format!(
            "{:?}",
            rows.iter()
                .map(|r| (0..r.len())
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<Vec<_>>())
                .collect::<Vec<_>>()
        ),
        Err(e) => format!("error {:?}", e.code()),
    }
}

/// The committed versions of the session's row on both sides, as another connection sees them.
/// Whether the transaction has written anything so far (an extension call that wrote took a row
/// lock; one that changed nothing or found no session took none).
async fn wrote(client: &Client) -> bool {
    client
        .query_one("SELECT pg_current_xact_id_if_assigned() IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0)
}

async fn observe(observer: &Client, token: &str) -> String {
    one(
        observer,
        "SELECT (SELECT ctid::text || xmin::text FROM varel_session.sessions \
                 WHERE token_hash = varel_session_internal.token_hash($1)), \
                (SELECT ctid::text || xmin::text FROM model.sessions \
                 WHERE token_hash = model.h($1))",
        &[&token],
    )
    .await
}

const ROW: &str = "data::text, user_id::text, created_at::text, updated_at::text, \
                   expires_at::text, absolute_expires_at::text, authenticated_at::text, \
                   aal::text, amr::text";

fn random_patch() -> String {
    let mut rng = rand::rng();
    let keys = ["a", "b", "c", "d"];
    let pairs: Vec<String> = (0..rng.random_range(1..3))
        .map(|_| {
            let key = keys.choose(&mut rng).unwrap();
            match rng.random_range(0..4) {
                0 => format!("\"{key}\": null"),
                1 => format!("\"{key}\": {{\"n\": [{}]}}", rng.random_range(0..9)),
                _ => format!("\"{key}\": {}", rng.random_range(0..100)),
            }
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// What one operation did: the new token when it rotated one, and whether it wrote nothing
/// while a concurrent commit changed the session (then its two calls may have seen different
/// states, the comparison means nothing, and the caller rolls back).
struct Outcome {
    rotated: Option<String>,
    raced: bool,
}

/// Runs one random operation on `token` against both sides, inside the caller's transaction.
async fn operate(
    client: &Client,
    observer: &Client,
    op: u32,
    token: &str,
    user: i64,
    mismatches: &Mutex<Vec<String>>,
) -> Outcome {
    let patch = random_patch();
    let key = ["a", "b", "c"]
        .choose(&mut rand::rng())
        .unwrap()
        .to_string();
    let seen_before = observe(observer, token).await;
    let (ext, wrote, model, rotated) = if op <= 7 {
        let (ext_sql, model_sql, args): (String, String, Vec<&(dyn ToSql + Sync)>) = match op {
            0 => (
                format!("SELECT {ROW} FROM varel_session.session_get($1)"),
                format!("SELECT {ROW} FROM model.get($1)"),
                vec![&token],
            ),
            1 => (
                format!("SELECT {ROW} FROM varel_session.session_load($1)"),
                format!("SELECT {ROW} FROM model.load($1)"),
                vec![&token],
            ),
            2 => (
                "SELECT varel_session.session_set($1, $2, 'v')::text".into(),
                "SELECT model.set_key($1, $2, 'v')::text".into(),
                vec![&token, &key],
            ),
            3 => (
                "SELECT varel_session.session_set($1, $2::text::jsonb)::text".into(),
                "SELECT model.set_patch($1, $2::text::jsonb)::text".into(),
                vec![&token, &patch],
            ),
            4 => (
                "SELECT varel_session.session_unset($1, $2)::text".into(),
                "SELECT model.unset($1, $2)::text".into(),
                vec![&token, &key],
            ),
            5 => (
                "SELECT varel_session.session_clear($1)::text".into(),
                "SELECT model.clear($1)::text".into(),
                vec![&token],
            ),
            6 => (
                "SELECT varel_session.session_touch($1)::text".into(),
                "SELECT model.touch($1)::text".into(),
                vec![&token],
            ),
            _ => (
                "SELECT varel_session.session_destroy($1)::text".into(),
                "SELECT model.destroy($1)::text".into(),
                vec![&token],
            ),
        };
        let ext = one(client, &ext_sql, &args).await;
        let wrote = wrote(client).await;
        let model = one(client, &model_sql, &args).await;
        (ext, wrote, model, None)
    } else {
        let (call, how) = match op {
            8 => ("varel_session.session_regenerate($1)", "regenerate"),
            9 => ("varel_session.session_set_user($1, $2)", "set_user"),
            _ => ("varel_session.session_clear_user($1)", "clear_user"),
        };
        let sql = format!("SELECT {call}");
        let new: Option<String> = if how == "set_user" {
            client.query_one(&sql, &[&token, &user]).await
        } else {
            client.query_one(&sql, &[&token]).await
        }
        .map(|r| r.get(0))
        .unwrap_or_else(|e| panic!("{how}: {e:?}"));
        let wrote = wrote(client).await;
        // When the extension found no session, the model must find none either, whatever
        // token it would have given it.
        let offered = new.clone().unwrap_or_else(|| "f".repeat(64));
        let model: Option<String> = client
            .query_one(
                "SELECT model.rotate($1, $2, $3, $4)",
                &[&token, &offered, &how, &user],
            )
            .await
            .unwrap()
            .get(0);
        (
            format!("{how} {}", new.is_some()),
            wrote,
            format!("{how} {}", model.is_some()),
            new,
        )
    };
    // Under READ COMMITTED the row lock the extension's write takes orders the two sides alike
    // (a transaction that committed before it is seen by both calls; none can commit after it
    // until we do). A call that wrote nothing took no lock: a transaction that committed after
    // its snapshot and before the model's call is seen by the model only. Such an operation is
    // not compared. (Reads run under REPEATABLE READ: one snapshot for both calls.)
    if op > 1 && !wrote && observe(observer, token).await != seen_before {
        return Outcome {
            rotated: None,
            raced: true,
        };
    }
    if ext != model {
        mismatches
            .lock()
            .unwrap()
            .push(format!("op {op}: extension {ext} vs model {model}"));
    }
    Outcome {
        rotated,
        raced: false,
    }
}

/// Creates a session on both sides (the model copies the extension's token and handle).
/// `None` when the SQL edition refused a log-in under REPEATABLE READ because another log-in
/// of the user committed after the snapshot (40001): SQL cannot look past the snapshot, so it
/// asks for a retry where the C edition, without a cap, does not (docs/sql-edition.md, "What
/// differs from the C edition").
/// Only tolerated when `VAREL_TEST_TEMPLATE` names the SQL edition's template.
async fn create(client: &Client, max_age: &str, user: Option<i64>) -> Option<String> {
    let data = random_patch().replace("null", "0");
    let created = client
        .query_one(
            "SELECT varel_session.session_new(max_age => $1::text::interval, user_id => $2, data => $3::text::jsonb)",
            &[&max_age, &user, &data],
        )
        .await;
    let token: String = match created {
        Ok(row) => row.get(0),
        Err(error)
            if sql_edition()
                && error.code()
                    == Some(&tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE) =>
        {
            return None
        }
        Err(error) => panic!("session_new: {error}"),
    };
    client
        .query_one(
            "SELECT model.new($1, (SELECT handle FROM varel_session.sessions \
                                   WHERE token_hash = varel_session_internal.token_hash($1)), \
                              $2::text::interval, $3, $4::text::jsonb)",
            &[&token, &max_age, &user, &data],
        )
        .await
        .unwrap();
    Some(token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_concurrent_operations_agree_with_the_sql_model() {
    let db = ScratchDb::create().await;
    let admin = db.connect().await;
    install_model(&admin).await;
    let shared = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..6 {
        // One transaction, so both sides get the same now().
        admin.batch_execute("BEGIN").await.unwrap();
        let token = create(&admin, "1 hour", None)
            .await
            .expect("an anonymous session");
        admin.batch_execute("COMMIT").await.unwrap();
        shared.lock().unwrap().push(token);
    }
    let mismatches = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let client = db.connect().await;
        let observer = db.connect().await;
        let (shared, mismatches) = (shared.clone(), mismatches.clone());
        workers.push(tokio::spawn(async move {
            let user = 500 + w as i64 % 2;
            let mut private: Vec<String> = Vec::new();
            let (mut operations, mut raced, mut retried_logins) = (0u64, 0u64, 0u64);
            while started.elapsed() < RUN_FOR {
                let (use_private, ending, op) = {
                    let mut rng = rand::rng();
                    (
                        rng.random_bool(0.4),
                        rng.random_range(0..10),
                        rng.random_range(0..11),
                    )
                };
                // Reads run under REPEATABLE READ, so the extension's call and the model's see
                // the same snapshot (under READ COMMITTED each statement gets its own, and a
                // write committed between the two would make them differ); writes run under
                // READ COMMITTED, where the row lock orders the two sides alike (when the
                // extension's call takes one: see `operate`).
                let begin = if op <= 1 {
                    "BEGIN ISOLATION LEVEL REPEATABLE READ"
                } else {
                    "BEGIN"
                };
                client.batch_execute(begin).await.unwrap();
                if ending == 0 {
                    client.batch_execute("SAVEPOINT s").await.unwrap();
                }
                let token = if use_private {
                    if private.len() < 3 || rand::rng().random_bool(0.1) {
                        let Some(token) = create(&client, "3 seconds", Some(user)).await else {
                            client.batch_execute("ROLLBACK").await.unwrap();
                            retried_logins += 1;
                            continue;
                        };
                        private.push(token);
                    }
                    let token = private.choose(&mut rand::rng()).unwrap().clone();
                    token
                } else {
                    let pool = shared.lock().unwrap().clone();
                    pool.choose(&mut rand::rng()).unwrap().clone()
                };
                let outcome = operate(&client, &observer, op, &token, user, &mismatches).await;
                if outcome.raced {
                    client.batch_execute("ROLLBACK").await.unwrap();
                    raced += 1;
                } else {
                    match ending {
                        // Undone with the savepoint, then committed: as if nothing happened.
                        0 => client
                            .batch_execute("ROLLBACK TO SAVEPOINT s; COMMIT")
                            .await
                            .unwrap(),
                        1 => client.batch_execute("ROLLBACK").await.unwrap(),
                        _ => {
                            client.batch_execute("COMMIT").await.unwrap();
                            if let Some(new) = outcome.rotated {
                                let list = if use_private {
                                    &mut private
                                } else {
                                    &mut *shared.lock().unwrap()
                                };
                                list.push(new);
                            }
                        }
                    }
                }
                operations += 1;
                if private.len() > 8 {
                    private.remove(0);
                }
                let pause = Duration::from_millis(rand::rng().random_range(0..20));
                tokio::time::sleep(pause).await;
            }
            (operations, raced, retried_logins)
        }));
    }
    let (mut operations, mut raced, mut retried_logins) = (0, 0, 0);
    for worker in workers {
        let (done, skipped, retried) = worker.await.unwrap();
        operations += done;
        raced += skipped;
        retried_logins += retried;
    }
    let mismatches = std::mem::take(&mut *mismatches.lock().unwrap());
    assert!(
        mismatches.is_empty(),
        "{} of {operations} operations disagreed, first: {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );
    assert!(operations > 500, "too few operations: {operations}");
    assert!(
        retried_logins * 10 < operations,
        "{retried_logins} log-ins under REPEATABLE READ asked for a retry, in {operations} operations"
    );
    assert!(
        raced * 20 < operations,
        "{raced} of {operations} operations raced a concurrent commit and were not compared"
    );

    // The two tables hold the same rows.
    let differences: i64 = admin
        .query_one(
            "SELECT count(*) FROM (
                 (SELECT handle, user_id, created_at, updated_at, expires_at, absolute_expires_at,
                         max_age, token_hash, data FROM varel_session.sessions
                  EXCEPT ALL
                  SELECT handle, user_id, created_at, updated_at, expires_at, absolute_expires_at,
                         max_age, token_hash, data FROM model.sessions)
                 UNION ALL
                 (SELECT handle, user_id, created_at, updated_at, expires_at, absolute_expires_at,
                         max_age, token_hash, data FROM model.sessions
                  EXCEPT ALL
                  SELECT handle, user_id, created_at, updated_at, expires_at, absolute_expires_at,
                         max_age, token_hash, data FROM varel_session.sessions)) d",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM varel_session.sessions", &[])
        .await
        .unwrap()
        .get(0);
    println!(
        "{operations} operations by {WORKERS} workers ({raced} not compared: a call that \
         wrote nothing raced a concurrent commit; {retried_logins} log-ins asked for a retry); \
         {rows} rows at the end"
    );
    assert_eq!(differences, 0, "the tables differ at the end");
    drop(admin);
    db.drop_now().await;
}
