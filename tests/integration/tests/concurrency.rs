//! Concurrency of the per-request API, with several real connections.

use std::sync::Arc;
use tokio::sync::Barrier;
use varel_session_integration::{connect, connections, new_session, DB};

/// Parallel writers, each changing its own keys of one session many times: every writer's last
/// value is there at the end. (Each write rebuilds the data from the newest committed version.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sets_of_different_keys_by_parallel_writers_lose_nothing() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 200;
    let admin = connect(DB).await;
    let token = new_session(&admin, None).await;
    let clients = connections(DB, WRITERS).await;
    let barrier = Arc::new(Barrier::new(WRITERS));

    let tasks = clients.into_iter().enumerate().map(|(w, client)| {
        let (token, barrier) = (token.clone(), barrier.clone());
        tokio::spawn(async move {
            let set_key = client
                .prepare("SELECT varel_session.session_set($1, $2, $3)")
                .await
                .unwrap();
            let set_patch = client
                .prepare("SELECT varel_session.session_set($1, $2::text::jsonb)")
                .await
                .unwrap();
            barrier.wait().await;
            for round in 0..ROUNDS {
                // Alternate the two write forms; both must merge with concurrent writes.
                let ok: bool = if round % 2 == 0 {
                    let key = format!("key{w}");
                    let value = format!("{round}");
                    client.query_one(&set_key, &[&token, &key, &value]).await
                } else {
                    let patch = format!(r#"{{"patch{w}": {round}, "key{w}": "{round}"}}"#);
                    client.query_one(&set_patch, &[&token, &patch]).await
                }
                .unwrap()
                .get(0);
                assert!(ok, "writer {w} found no session in round {round}");
            }
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }

    for w in 0..WRITERS {
        let key: Option<String> = admin
            .query_one(
                "SELECT varel_session.session_get($1, $2)",
                &[&token, &format!("key{w}")],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(key.as_deref(), Some(&*format!("{}", ROUNDS - 1)), "key{w}");
        let patch: Option<String> = admin
            .query_one(
                "SELECT varel_session.session_get($1, $2)",
                &[&token, &format!("patch{w}")],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            patch.as_deref(),
            Some(&*format!("{}", ROUNDS - 1)),
            "patch{w}"
        );
    }
}

/// Of many concurrent regenerates of one token, exactly one wins; the old token is dead and
/// the winner's token names the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_regenerates_have_exactly_one_winner() {
    const RACERS: usize = 8;
    let admin = connect(DB).await;
    for attempt in 0..20 {
        let token = new_session(&admin, None).await;
        admin
            .query_one(
                "SELECT varel_session.session_set($1, 'attempt', $2)",
                &[&token, &attempt.to_string()],
            )
            .await
            .unwrap();
        let clients = connections(DB, RACERS).await;
        let barrier = Arc::new(Barrier::new(RACERS));
        let tasks = clients.into_iter().map(|client| {
            let (token, barrier) = (token.clone(), barrier.clone());
            tokio::spawn(async move {
                let statement = client
                    .prepare("SELECT varel_session.session_regenerate($1)")
                    .await
                    .unwrap();
                barrier.wait().await;
                let new: Option<String> = client
                    .query_one(&statement, &[&token])
                    .await
                    .unwrap()
                    .get(0);
                new
            })
        });
        let winners: Vec<String> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .filter_map(|r| r.unwrap())
            .collect();
        assert_eq!(winners.len(), 1, "attempt {attempt}: winners {winners:?}");
        let old_rows = admin
            .query("SELECT 1 FROM varel_session.session_get($1)", &[&token])
            .await
            .unwrap();
        assert!(old_rows.is_empty(), "the old token still works");
        let value: Option<String> = admin
            .query_one(
                "SELECT varel_session.session_get($1, 'attempt')",
                &[&winners[0]],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(value, Some(attempt.to_string()));
    }
}

/// A set that waits on a destroy in progress returns false once the destroy commits, and the
/// row does not come back. And a set that holds the row makes a destroy wait, then the destroy
/// wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_set_racing_a_destroy_never_revives_the_session() {
    let admin = connect(DB).await;
    let destroyer = connect(DB).await;
    let setter = connect(DB).await;

    // Destroy first (uncommitted), set waits for it.
    let token = new_session(&admin, None).await;
    destroyer.batch_execute("BEGIN").await.unwrap();
    let destroyed: bool = destroyer
        .query_one("SELECT varel_session.session_destroy($1)", &[&token])
        .await
        .unwrap()
        .get(0);
    assert!(destroyed);
    let pending_set = {
        let token = token.clone();
        tokio::spawn(async move {
            let set: bool = setter
                .query_one("SELECT varel_session.session_set($1, 'k', 'v')", &[&token])
                .await
                .unwrap()
                .get(0);
            (set, setter)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !pending_set.is_finished(),
        "the set should wait for the destroy's row lock"
    );
    destroyer.batch_execute("COMMIT").await.unwrap();
    let (set, setter) = pending_set.await.unwrap();
    assert!(!set, "a set after a committed destroy must return false");
    let count: i64 = admin
        .query_one(
            "SELECT count(*) FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash($1)",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "the destroyed session came back");

    // Set first (uncommitted), destroy waits for it and then removes the row.
    let token = new_session(&admin, None).await;
    setter.batch_execute("BEGIN").await.unwrap();
    setter
        .query_one("SELECT varel_session.session_set($1, 'k', 'v')", &[&token])
        .await
        .unwrap();
    let pending_destroy = {
        let token = token.clone();
        tokio::spawn(async move {
            let destroyed: bool = destroyer
                .query_one("SELECT varel_session.session_destroy($1)", &[&token])
                .await
                .unwrap()
                .get(0);
            destroyed
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !pending_destroy.is_finished(),
        "the destroy should wait for the set's row lock"
    );
    setter.batch_execute("COMMIT").await.unwrap();
    assert!(pending_destroy.await.unwrap());
    let after: bool = admin
        .query_one(
            "SELECT varel_session.session_set($1, 'k', 'again')",
            &[&token],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!after);
}

/// A burst of concurrent loads of a session whose refresh is due writes one new row version,
/// however many loads there are. Each load counts, in its own transaction, the updates its
/// backend made to the sessions table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_loads_writes_at_most_once() {
    const LOADERS: usize = 16;
    let admin = connect(DB).await;
    for attempt in 0..5 {
        let token: String = admin
            .query_one("SELECT varel_session.session_new(max_age => '1 hour')", &[])
            .await
            .unwrap()
            .get(0);
        // Make a refresh due: 10 of 60 minutes left.
        admin
            .execute(
                "UPDATE varel_session.sessions SET expires_at = now() + interval '10 minutes'
                 WHERE token_hash = varel_session_internal.token_hash($1)",
                &[&token],
            )
            .await
            .unwrap();
        let clients = connections(DB, LOADERS).await;
        let barrier = Arc::new(Barrier::new(LOADERS));
        let tasks = clients.into_iter().map(|client| {
            let (token, barrier) = (token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                client.batch_execute("BEGIN").await.unwrap();
                let rows = client
                    .query("SELECT * FROM varel_session.session_load($1)", &[&token])
                    .await
                    .unwrap();
                assert_eq!(rows.len(), 1);
                let updates: i64 = client
                    .query_one(
                        "SELECT pg_stat_get_xact_tuples_updated('varel_session.sessions'::regclass)",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                client.batch_execute("COMMIT").await.unwrap();
                updates
            })
        });
        let writes: i64 = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .sum();
        assert_eq!(
            writes, 1,
            "attempt {attempt}: {writes} row versions written by one burst"
        );
        let slid: bool = admin
            .query_one(
                "SELECT expires_at > now() + interval '59 minutes' FROM varel_session.session_get($1)",
                &[&token],
            )
            .await
            .unwrap()
            .get(0);
        assert!(slid);
    }
}
