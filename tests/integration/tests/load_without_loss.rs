//! Load without loss: many connections doing a realistic mix for a minute, each keeping its own
//! record of what the server acknowledged; at the end every acknowledged write is present and
//! nothing destroyed came back.
//!
//! Each client owns private sessions (which it loads, writes, regenerates, logs in, destroys and
//! revokes) and shares one session with a partner client (both write their own keys into it,
//! concurrently). `VAREL_LOAD_SECONDS` sets the duration (default 60).

use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use varel_session_integration::{connect, unique_user_id, DB};

const CLIENTS: usize = 16;

#[derive(Default)]
struct Model {
    /// Live private sessions: token -> acknowledged data.
    live: BTreeMap<String, BTreeMap<String, String>>,
    /// Which live private sessions are logged in as this client's user.
    logged_in: HashSet<String>,
    /// Tokens that must never work again (destroyed, revoked, rotated away).
    dead: HashSet<String>,
    /// Acknowledged values of this client's keys in the shared session.
    shared: BTreeMap<String, String>,
}

struct Counters {
    ops: AtomicU64,
    errors: AtomicU64,
}

async fn one(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> tokio_postgres::Row {
    client
        .query_one(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn data_of(client: &Client, token: &str) -> Option<BTreeMap<String, String>> {
    let rows = client
        .query("SELECT data FROM varel_session.session_load($1)", &[&token])
        .await
        .unwrap();
    rows.first().map(|row| {
        let data: serde_json::Value = row.get(0);
        data.as_object()
            .expect("data is an object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_owned()))
            .collect()
    })
}

async fn run_client(
    id: usize,
    client: Client,
    shared_token: String,
    deadline: Instant,
    counters: Arc<Counters>,
) -> Model {
    let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64 ^ 0x5eed);
    let user = unique_user_id();
    let mut model = Model::default();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let roll: u32 = rng.random_range(0..100);
        if model.live.len() < 3 || roll < 5 {
            let token: String = one(&client, "SELECT varel_session.session_new()", &[])
                .await
                .get(0);
            model.live.insert(token, BTreeMap::new());
        } else if roll < 35 {
            // load, and check it against what was acknowledged
            let token = pick(&mut rng, &model.live);
            let data = data_of(&client, &token)
                .await
                .expect("a live session vanished");
            assert_eq!(
                data, model.live[&token],
                "client {id}: acknowledged data differs"
            );
        } else if roll < 60 {
            let token = pick(&mut rng, &model.live);
            let (key, value) = (format!("k{}", rng.random_range(0..8)), format!("v{n}"));
            let ok: bool = one(
                &client,
                "SELECT varel_session.session_set($1, $2, $3)",
                &[&token, &key, &value],
            )
            .await
            .get(0);
            assert!(ok, "client {id}: a set on a live session returned false");
            model.live.get_mut(&token).unwrap().insert(key, value);
        } else if roll < 75 {
            // the shared session: this client's own keys only
            let (key, value) = (format!("c{id}_{}", rng.random_range(0..4)), format!("v{n}"));
            let ok: bool = one(
                &client,
                "SELECT varel_session.session_set($1, $2, $3)",
                &[&shared_token, &key, &value],
            )
            .await
            .get(0);
            assert!(ok, "client {id}: the shared session vanished");
            model.shared.insert(key, value);
        } else if roll < 82 {
            let token = pick(&mut rng, &model.live);
            let new: Option<String> = one(
                &client,
                "SELECT varel_session.session_regenerate($1)",
                &[&token],
            )
            .await
            .get(0);
            let new = new.expect("regenerate of a live session returned NULL");
            let data = model.live.remove(&token).unwrap();
            if model.logged_in.remove(&token) {
                model.logged_in.insert(new.clone());
            }
            model.dead.insert(token);
            model.live.insert(new, data);
        } else if roll < 88 {
            let token = pick(&mut rng, &model.live);
            let new: Option<String> = one(
                &client,
                "SELECT varel_session.session_set_user($1, $2)",
                &[&token, &user],
            )
            .await
            .get(0);
            let new = new.expect("log-in of a live session returned NULL");
            let data = model.live.remove(&token).unwrap();
            model.logged_in.remove(&token);
            model.dead.insert(token);
            model.logged_in.insert(new.clone());
            model.live.insert(new, data);
        } else if roll < 94 {
            let token = pick(&mut rng, &model.live);
            let destroyed: bool = one(
                &client,
                "SELECT varel_session.session_destroy($1)",
                &[&token],
            )
            .await
            .get(0);
            assert!(destroyed);
            model.live.remove(&token);
            model.logged_in.remove(&token);
            model.dead.insert(token);
        } else if roll < 97 {
            // log out other devices: every private session of this user but one ends
            let keep = pick(&mut rng, &model.live);
            let ended: i64 = one(
                &client,
                "SELECT varel_session.session_user_revoke($1, $2)",
                &[&user, &keep],
            )
            .await
            .get(0);
            let gone: Vec<String> = model
                .logged_in
                .iter()
                .filter(|t| **t != keep)
                .cloned()
                .collect();
            assert_eq!(
                ended as usize,
                gone.len(),
                "client {id}: revoke ended another number"
            );
            for token in gone {
                model.live.remove(&token);
                model.logged_in.remove(&token);
                model.dead.insert(token);
            }
        } else {
            let _: i64 = one(&client, "SELECT varel_session.session_cleanup(500)", &[])
                .await
                .get(0);
        }
        counters.ops.fetch_add(1, Ordering::Relaxed);
    }
    model
}

fn pick(rng: &mut impl Rng, live: &BTreeMap<String, BTreeMap<String, String>>) -> String {
    let index = rng.random_range(0..live.len());
    live.keys().nth(index).unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_for_a_minute_lose_nothing() {
    let seconds: u64 = std::env::var("VAREL_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let admin = connect(DB).await;
    let mut shared = Vec::new();
    for _ in 0..CLIENTS / 2 {
        let token: String = one(&admin, "SELECT varel_session.session_new()", &[])
            .await
            .get(0);
        shared.push(token);
    }
    let counters = Arc::new(Counters {
        ops: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for id in 0..CLIENTS {
        let client = connect(DB).await;
        let shared_token = shared[id / 2].clone();
        let counters = counters.clone();
        tasks.push(tokio::spawn(run_client(
            id,
            client,
            shared_token,
            deadline,
            counters,
        )));
    }
    let mut models = Vec::new();
    for task in tasks {
        match task.await {
            Ok(model) => models.push(model),
            Err(e) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
    let elapsed = started.elapsed();

    // Every acknowledged write is there; nothing dead came back.
    let mut checked_keys = 0;
    for (id, model) in models.iter().enumerate() {
        for (token, data) in &model.live {
            let found = data_of(&admin, token)
                .await
                .expect("a live session is missing");
            assert_eq!(&found, data, "client {id}");
            checked_keys += data.len();
        }
        for token in &model.dead {
            let rows: i64 = one(&admin,
                "SELECT count(*) FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash($1)",
                &[token]).await.get(0);
            assert_eq!(
                rows, 0,
                "client {id}: a destroyed or rotated token came back"
            );
        }
        let shared_data = data_of(&admin, &shared[id / 2])
            .await
            .expect("the shared session is missing");
        for (key, value) in &model.shared {
            assert_eq!(
                shared_data.get(key),
                Some(value),
                "client {id}: shared key {key} lost"
            );
            checked_keys += 1;
        }
    }
    let ops = counters.ops.load(Ordering::Relaxed);
    let dead: usize = models.iter().map(|m| m.dead.len()).sum();
    eprintln!(
        "load without loss: {CLIENTS} clients, {ops} operations in {:.1} s ({:.0}/s), {} errors; \
         verified {checked_keys} acknowledged keys and {dead} tokens that must stay dead",
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64(),
        counters.errors.load(Ordering::Relaxed),
    );
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0);
}
