//! Everyone out (`session_revoke_all`, `session_revoke_all_run`) while requests keep rotating
//! tokens: a session rotated during the revoke (its row updated, perhaps into a block the
//! batches have done already) must end too, and nothing created before the call may work
//! afterwards. In databases of their own: a revoke ends every session.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;
use varel_session_integration::{listen, ScratchDb};

const ROTATORS: usize = 4;
const SESSIONS_PER_ROTATOR: usize = 60;
/// Sessions nobody rotates: most of the table, so the revoke takes many batches.
const IDLE_SESSIONS: i64 = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_statement_ends_every_session_rotated_or_not() {
    everyone_out_while_rotating("SELECT varel_session.session_revoke_all()").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn committed_batches_end_every_session_rotated_or_not() {
    everyone_out_while_rotating("CALL varel_session.session_revoke_all_run(batch_size => 100)")
        .await;
}

async fn everyone_out_while_rotating(revoke: &str) {
    let db = ScratchDb::create().await;
    let admin = db.connect().await;
    let (listening, mut events) = listen(&db.name, "test_everyone_out").await;
    // Padding, so the sessions fill many blocks.
    admin
        .execute(
            "SELECT varel_session.session_new(data => jsonb_build_object('pad', repeat('x', 300)))
             FROM generate_series(1, $1::bigint)",
            &[&IDLE_SESSIONS],
        )
        .await
        .unwrap();

    let revoked = Arc::new(AtomicBool::new(false));
    let rotations = Arc::new(AtomicUsize::new(0));
    let mut rotators = Vec::new();
    for _ in 0..ROTATORS {
        let client = db.connect().await;
        let tokens: Vec<String> = client
            .query(
                "SELECT varel_session.session_new() FROM generate_series(1, $1::bigint)",
                &[&(SESSIONS_PER_ROTATOR as i64)],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        rotators.push(tokio::spawn(rotate_until_gone(
            client,
            tokens,
            revoked.clone(),
            rotations.clone(),
        )));
    }
    while rotations.load(Ordering::Relaxed) < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Events on for the revoke only: the sessions' creations announce nothing.
    admin
        .batch_execute(
            "SET varel_session.events = on; SET varel_session.events_channel = 'test_everyone_out'",
        )
        .await
        .unwrap();
    let ended: i64 = admin.query_one(revoke, &[]).await.unwrap().get(0);
    revoked.store(true, Ordering::Release);
    let mut survivors = 0;
    for rotator in rotators {
        survivors += rotator.await.unwrap();
    }
    assert!(
        rotations.load(Ordering::Relaxed) >= 200,
        "the sessions were rotated during the revoke"
    );
    assert_eq!(survivors, 0, "sessions that still worked after the revoke");
    let total = IDLE_SESSIONS + (ROTATORS * SESSIONS_PER_ROTATOR) as i64;
    assert_eq!(ended, total, "every session ended, each counted once");
    let left: i64 = admin
        .query_one("SELECT count(*) FROM varel_session.sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);

    // One event for all: no handle, no user, the count.
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the revoke's event")
        .unwrap();
    assert_eq!(event["event"], "revoked");
    assert_eq!(event["removed"], serde_json::json!(total));
    assert!(event.get("handle").is_none());
    assert_eq!(event["user_id"], serde_json::Value::Null);
    drop(listening);
    drop(admin);
    db.drop_now().await;
}

/// Rotates its sessions round and round (as requests that log in and out would), replacing each
/// token with the new one, until the revoke is over; then one more round, in which every
/// session must be gone. Returns how many still worked in that round.
async fn rotate_until_gone(
    client: Client,
    mut tokens: Vec<String>,
    revoked: Arc<AtomicBool>,
    rotations: Arc<AtomicUsize>,
) -> usize {
    let regenerate = client
        .prepare("SELECT varel_session.session_regenerate($1)")
        .await
        .unwrap();
    loop {
        let last_round = revoked.load(Ordering::Acquire);
        let mut survivors = 0;
        for token in tokens.iter_mut() {
            let rotated: Option<String> = client
                .query_one(&regenerate, &[token])
                .await
                .unwrap()
                .get(0);
            if let Some(rotated) = rotated {
                *token = rotated;
                survivors += 1;
                rotations.fetch_add(1, Ordering::Relaxed);
            }
        }
        if last_round {
            return survivors;
        }
    }
}
