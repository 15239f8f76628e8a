//! `PostgresStore::load` (pooled connection, cached statement, a typed `Session`) against the
//! same SQL sent through a raw `tokio-postgres` client with a statement prepared once, decoding
//! the same columns. A third side, `store.on(&connection).load` on a connection each task holds,
//! splits the store's cost into the pool checkout and the rest. Two clients each, like the
//! pgbench runs; each round runs every side back to back, the order rotating from round to
//! round, so machine drift favours none. Prints one line per side: `name tps tps tps ...`.
//!
//! Usage: varel-session-client-bench HOST PORT DB FIRST COUNT SECONDS ROUNDS

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use varel_session_client::{Config, PostgresStore, SessionStore};

const CLIENTS: usize = 2;
/// The SQL `PostgresStore::load` sends (client/src/sql.rs).
const LOAD: &str = "SELECT data, user_id, created_at, updated_at, expires_at, now() \
                    FROM varel_session.session_load($1)";

struct Target {
    host: String,
    port: u16,
    db: String,
    first: u64,
    count: u64,
}

impl Target {
    /// Token i of the benchmark table: 48 zeros and i.
    fn token(&self, n: u64) -> String {
        format!("{}{}", "0".repeat(48), self.first + n % self.count)
    }

    fn pg_config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user("postgres")
            .dbname(&self.db);
        config
    }
}

/// How the store side gets its connection.
#[derive(Clone, Copy)]
enum Checkout {
    /// `store.load`: a connection from the pool for every call, as the axum layer does.
    PerCall,
    /// `store.on(&connection).load`: each task holds one pooled connection for the whole run.
    Held,
}

async fn run_store(target: &Arc<Target>, seconds: u64, checkout: Checkout) -> f64 {
    let manager = deadpool_postgres::Manager::new(target.pg_config(), tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(CLIENTS)
        .build()
        .unwrap();
    let store = PostgresStore::new(pool, Config::default()).unwrap();
    // Warm the pool and its statement caches, as a running app would have.
    for _ in 0..CLIENTS * 4 {
        store.load(&target.token(0)).await.unwrap();
    }
    let mut held = Vec::new();
    if let Checkout::Held = checkout {
        for _ in 0..CLIENTS {
            held.push(Arc::new(store.pool().get().await.unwrap()));
        }
    }
    let target = target.clone();
    drive(seconds, move |c, n| {
        let (store, target) = (store.clone(), target.clone());
        let connection = held.get(c).cloned();
        async move {
            let token = target.token(n);
            let session = match &connection {
                Some(connection) => store.on(&**connection).load(&token).await.unwrap(),
                None => store.load(&token).await.unwrap(),
            };
            assert!(session.is_some());
        }
    })
    .await
}

async fn run_raw(target: &Arc<Target>, seconds: u64) -> f64 {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, connection) = target
            .pg_config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let statement = client.prepare(LOAD).await.unwrap();
        clients.push(Arc::new((client, statement)));
    }
    let target = target.clone();
    drive(seconds, move |c, n| {
        // Each of the two loops has its own connection, as each pgbench client does.
        let (pair, target) = (clients[c].clone(), target.clone());
        async move {
            let (client, statement) = &*pair;
            let row = client
                .query_opt(statement, &[&target.token(n)])
                .await
                .unwrap()
                .unwrap();
            // Decode the same columns the store decodes.
            let data: serde_json::Value = row.get(0);
            let user_id: Option<i64> = row.get(1);
            let times: [OffsetDateTime; 4] = [row.get(2), row.get(3), row.get(4), row.get(5)];
            std::hint::black_box((data, user_id, times));
        }
    })
    .await
}

/// Runs `CLIENTS` loops of `call` for `seconds`; returns calls per second.
async fn drive<F, Fut>(seconds: u64, call: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = ()> + Send,
{
    let done = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (done, calls, call) = (done.clone(), calls.clone(), call.clone());
            tokio::spawn(async move {
                let mut n = c as u64 * 7_919;
                while !done.load(Ordering::Relaxed) {
                    call(c, n).await;
                    n = n
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    done.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    calls.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(
        args.len(),
        8,
        "usage: HOST PORT DB FIRST COUNT SECONDS ROUNDS"
    );
    let target = Arc::new(Target {
        host: args[1].clone(),
        port: args[2].parse().unwrap(),
        db: args[3].clone(),
        first: args[4].parse().unwrap(),
        count: args[5].parse().unwrap(),
    });
    let (seconds, rounds): (u64, usize) = (args[6].parse().unwrap(), args[7].parse().unwrap());
    const SIDES: [&str; 3] = ["raw", "store", "store_held"];
    let mut tps: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        for step in 0..SIDES.len() {
            let side = (round + step) % SIDES.len();
            let result = match side {
                0 => run_raw(&target, seconds).await,
                1 => run_store(&target, seconds, Checkout::PerCall).await,
                _ => run_store(&target, seconds, Checkout::Held).await,
            };
            tps[side].push(result);
        }
    }
    for (name, values) in SIDES.iter().zip(&tps) {
        let numbers: Vec<String> = values.iter().map(|x| format!("{x:.1}")).collect();
        println!("{name} {}", numbers.join(" "));
    }
}
