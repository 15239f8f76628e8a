//! User-wide operations racing per-user log-ins, with parallel connections.

use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Barrier;
use varel_session_integration::{connect, unique_user_id, DB};

/// "Log out everywhere" racing a log-in of the same user: a session whose creation committed
/// before the revoke started is always ended by it; a surviving session was committed after
/// the revoke began; and the revoke's count is exactly the sessions that disappeared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn user_revoke_racing_a_new_session_ends_it_or_runs_before_it() {
    let admin = connect(DB).await;
    let revoker = connect(DB).await;
    let creator = Arc::new(connect(DB).await);
    let mut survived = 0;
    for round in 0..100 {
        let user = unique_user_id();
        // One session exists before the race.
        admin
            .query_one("SELECT varel_session.session_new(user_id => $1)", &[&user])
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let create = {
            let (creator, barrier) = (creator.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let token: String = creator
                    .query_one("SELECT varel_session.session_new(user_id => $1)", &[&user])
                    .await
                    .unwrap()
                    .get(0);
                (token, Instant::now())
            })
        };
        barrier.wait().await;
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        }
        let revoke_started = Instant::now();
        let ended: i64 = revoker
            .query_one("SELECT varel_session.session_user_revoke($1)", &[&user])
            .await
            .unwrap()
            .get(0);
        let (token, created_at) = create.await.unwrap();
        let alive = !admin
            .query("SELECT 1 FROM varel_session.session_get($1)", &[&token])
            .await
            .unwrap()
            .is_empty();
        if created_at < revoke_started {
            assert!(
                !alive,
                "round {round}: a session committed before the revoke survived it"
            );
        }
        // The revoke ended the old session, plus the new one exactly when it is gone.
        assert_eq!(ended, if alive { 1 } else { 2 }, "round {round}");
        survived += alive as usize;
        admin
            .query_one("SELECT varel_session.session_user_revoke($1)", &[&user])
            .await
            .unwrap();
    }
    eprintln!("new session survived the revoke (created after it) in {survived} of 100 rounds");
}

/// Two log-ins of one user at the same time, with a cap of one session: exactly one session
/// is left, because log-ins of one user take turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_log_ins_never_exceed_the_cap() {
    const RACERS: usize = 4;
    let admin = connect(DB).await;
    let clients: Vec<_> = futures::future::join_all((0..RACERS).map(|_| connect(DB))).await;
    for client in &clients {
        client
            .batch_execute("SET varel_session.max_sessions_per_user = 1")
            .await
            .unwrap();
    }
    let clients: Vec<_> = clients.into_iter().map(Arc::new).collect();
    for round in 0..30 {
        let user = unique_user_id();
        // Anonymous sessions that all log in as `user` at once (set_user), or new sessions
        // created for the user at once (session_new), alternating by round.
        let mut anonymous = Vec::new();
        for _ in 0..RACERS {
            let token: String = admin
                .query_one("SELECT varel_session.session_new()", &[])
                .await
                .unwrap()
                .get(0);
            anonymous.push(token);
        }
        let barrier = Arc::new(Barrier::new(RACERS));
        let tasks = clients
            .iter()
            .cloned()
            .zip(anonymous)
            .map(|(client, token)| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let sql = if round % 2 == 0 {
                        "SELECT varel_session.session_set_user($1, $2)"
                    } else {
                        "SELECT varel_session.session_new(user_id => $2) WHERE $1::text IS NOT NULL"
                    };
                    let token: Option<String> = client
                        .query_one(sql, &[&token, &user])
                        .await
                        .unwrap()
                        .get(0);
                    token.unwrap()
                })
            });
        let tokens: Vec<String> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        let live: i64 = admin
            .query_one(
                "SELECT count(*) FROM varel_session.session_user_sessions($1)",
                &[&user],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(live, 1, "round {round}: {live} sessions under a cap of 1");
        // The survivor is the last log-in to commit: one of the returned tokens.
        let mut alive = 0;
        for token in &tokens {
            alive += admin
                .query("SELECT 1 FROM varel_session.session_get($1)", &[token])
                .await
                .unwrap()
                .len();
        }
        assert_eq!(alive, 1, "round {round}");
        admin
            .query_one("SELECT varel_session.session_user_revoke($1)", &[&user])
            .await
            .unwrap();
    }
}
