//! Crash recovery: under write load, a backend is killed with SIGKILL (the postmaster then
//! restarts every backend and replays WAL), and separately the server is stopped with an
//! immediate shutdown and started again. Every session whose creation was acknowledged, and
//! every acknowledged key, must be there afterwards.
//!
//! Runs against its own cluster (`scripts/test.sh` starts it with fsync and synchronous_commit
//! on): `VAREL_CRASH_HOST`, `VAREL_CRASH_PORT`, `VAREL_CRASH_DATA`.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use varel_session_integration::{connect_with, env, pg_ctl};

const WRITERS: usize = 8;

async fn connect(application_name: &str) -> Result<Client, tokio_postgres::Error> {
    connect_with(
        tokio_postgres::Config::new()
            .host(env("VAREL_CRASH_HOST"))
            .port(env("VAREL_CRASH_PORT").parse().unwrap())
            .user("postgres")
            .dbname("varel_crash")
            .application_name(application_name),
    )
    .await
}

async fn connect_when_back() -> Client {
    let started = Instant::now();
    loop {
        if let Ok(client) = connect("checker").await {
            if client.simple_query("SELECT 1").await.is_ok() {
                return client;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the server did not come back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What one writer saw acknowledged: token -> key -> value.
type Acked = Arc<Mutex<BTreeMap<String, BTreeMap<String, String>>>>;

/// Creates sessions and writes keys until the connection dies; records each acknowledgment
/// only after the server returned it (so only committed work is recorded).
async fn writer(n: usize, acked: Acked) -> u64 {
    let Ok(client) = connect("crash-writer").await else {
        return 0;
    };
    let mut writes = 0;
    for round in 0u64.. {
        let token: String = match client
            .query_one("SELECT varel_session.session_new()", &[])
            .await
        {
            Ok(row) => row.get(0),
            Err(_) => return writes,
        };
        acked.lock().unwrap().insert(token.clone(), BTreeMap::new());
        for k in 0..4 {
            let (key, value) = (format!("w{n}k{k}"), format!("r{round}"));
            match client
                .query_one(
                    "SELECT varel_session.session_set($1, $2, $3)",
                    &[&token, &key, &value],
                )
                .await
            {
                Ok(row) => {
                    assert!(row.get::<_, bool>(0));
                    acked
                        .lock()
                        .unwrap()
                        .get_mut(&token)
                        .unwrap()
                        .insert(key, value);
                    writes += 1;
                }
                Err(_) => return writes,
            }
        }
    }
    writes
}

async fn verify(acked: &Acked) -> (usize, usize) {
    let client = connect_when_back().await;
    let acked = acked.lock().unwrap().clone();
    let mut keys = 0;
    for (token, data) in &acked {
        let row = client
            .query_opt("SELECT data FROM varel_session.session_get($1)", &[token])
            .await
            .unwrap();
        let row =
            row.unwrap_or_else(|| panic!("an acknowledged session is missing after recovery"));
        let stored: serde_json::Value = row.get(0);
        for (key, value) in data {
            assert_eq!(
                stored[key].as_str(),
                Some(value.as_str()),
                "acknowledged key {key} lost"
            );
            keys += 1;
        }
    }
    (acked.len(), keys)
}

async fn under_load(crash: impl FnOnce(Vec<i32>)) -> (u64, usize, usize) {
    let acked: Acked = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| tokio::spawn(writer(n, acked.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let admin = connect("crash-admin").await.unwrap();
    let pids: Vec<i32> = admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'crash-writer'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!pids.is_empty(), "no writer is connected");
    crash(pids);
    let mut writes = 0;
    for w in writers {
        writes += tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("a writer hung after the crash")
            .unwrap();
    }
    let (sessions, keys) = verify(&acked).await;
    (writes, sessions, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_a_killed_backend_and_an_immediate_shutdown() {
    let (writes, sessions, keys) = under_load(|pids| {
        let status = Command::new("kill")
            .args(["-9", &pids[0].to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    })
    .await;
    eprintln!(
        "SIGKILL of a backend under load: {writes} acknowledged writes before the crash; \
         all {sessions} acknowledged sessions and {keys} keys present after recovery"
    );
    assert!(writes > 0 && sessions > 0);

    let (writes, sessions, keys) = under_load(|_| {
        pg_ctl(&env("VAREL_CRASH_DATA"), &["-m", "immediate", "stop"]);
        let log = format!("{}/../server.log", env("VAREL_CRASH_DATA"));
        pg_ctl(
            &env("VAREL_CRASH_DATA"),
            &["-l", &log, "-w", "-t", "90", "start"],
        );
    })
    .await;
    eprintln!(
        "immediate shutdown under load: {writes} acknowledged writes before the crash; \
         all {sessions} acknowledged sessions and {keys} keys present after restart"
    );
    assert!(writes > 0 && sessions > 0);
}
