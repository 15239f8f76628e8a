//! Shared helpers for the integration tests: connections to the test cluster that
//! `scripts/test.sh` starts (`VAREL_TEST_HOST`, `VAREL_TEST_PORT`), and unique names so tests
//! can run in parallel in one database without seeing each other's rows.

use rand::Rng;
use tokio_postgres::{Client, NoTls};

/// The database every test shares; it has the extension installed.
pub const DB: &str = "varel_it";

/// The database the edition-independent tests (hostile input, privileges) run against:
/// `VAREL_TEST_DB` when set (`scripts/test.sh` runs them again with the SQL edition's
/// database), [`DB`] otherwise.
pub fn api_db() -> String {
    std::env::var("VAREL_TEST_DB").unwrap_or_else(|_| DB.to_owned())
}
/// The database pg_cron runs jobs in (`cron.database_name` of the test cluster).
pub const CRON_DB: &str = "varel_cron";

/// A variable `scripts/test.sh` sets for the tests.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `make test-env`, then `. target/test.env`")
    })
}

/// Connects with `config` and drives the connection on its own task.
pub async fn connect_with(
    config: &tokio_postgres::Config,
) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Connects to `db` as `user` over the cluster's unix socket.
pub async fn connect_as(db: &str, user: &str) -> Result<Client, tokio_postgres::Error> {
    connect_with(
        tokio_postgres::Config::new()
            .host(env("VAREL_TEST_HOST"))
            .port(env("VAREL_TEST_PORT").parse().expect("a port number"))
            .user(user)
            .dbname(db),
    )
    .await
}

/// Connects to `db` as the superuser.
pub async fn connect(db: &str) -> Client {
    connect_as(db, "postgres")
        .await
        .expect("connect to the test cluster")
}

/// A user id no other test uses.
pub fn unique_user_id() -> i64 {
    rand::rng().random_range(1_000_000_000..i64::MAX / 2)
}

/// A role or database name no other test uses, starting with `prefix`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::rng().random::<u64>())
}

/// A fresh database with the extension installed, for tests that count rows or statistics
/// and must not see other tests' sessions. Dropped by [`ScratchDb::drop_now`].
pub struct ScratchDb {
    pub name: String,
}

impl ScratchDb {
    /// Copies the `varel_template` database that `scripts/test.sh` prepares (the C edition),
    /// or the database `VAREL_TEST_TEMPLATE` names (`scripts/test.sh` runs the differential
    /// tests again on `varel_template_sql`, the SQL edition).
    pub async fn create() -> ScratchDb {
        let name = unique_name("scratch");
        let template =
            std::env::var("VAREL_TEST_TEMPLATE").unwrap_or_else(|_| "varel_template".to_owned());
        let admin = connect("postgres").await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create a scratch database");
        ScratchDb { name }
    }

    pub async fn connect(&self) -> Client {
        connect(&self.name).await
    }

    pub async fn drop_now(self) {
        let admin = connect("postgres").await;
        admin
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .expect("drop the scratch database");
    }
}

/// Runs one of the PostgreSQL client programs (`psql`, `pg_dump`, ...) of the major under test
/// (`VAREL_PG_BIN`), as an administrator would; panics unless it succeeds, returns its output.
pub fn run_pg_program(program: &str, args: &[&str]) -> String {
    let path = format!("{}/{program}", env("VAREL_PG_BIN"));
    let output = std::process::Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {path}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs `pg_ctl -D data args...` of the major under test as the `postgres` OS user (servers
/// refuse root), as an administrator would: stopping, starting or promoting a cluster the test
/// owns. Panics unless it succeeds.
pub fn pg_ctl(data: &str, args: &[&str]) {
    let pg_ctl = format!("{}/pg_ctl", env("VAREL_PG_BIN"));
    let status = std::process::Command::new("sudo")
        .args(["-u", "postgres", &pg_ctl, "-D", data])
        .args(args)
        .current_dir("/")
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl -D {data} {args:?} failed");
}

/// Every row of the sessions table as text, in a stable order: what must come through a dump
/// and restore, or a switch of editions, unchanged.
pub async fn all_sessions(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT s::text FROM varel_session.sessions s ORDER BY token_hash",
            &[],
        )
        .await
        .expect("read the sessions table")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Opens `n` connections to `db`.
pub async fn connections(db: &str, n: usize) -> Vec<Client> {
    futures::future::join_all((0..n).map(|_| connect(db))).await
}

/// Creates a session and returns its token.
pub async fn new_session(client: &Client, user_id: Option<i64>) -> String {
    client
        .query_one(
            "SELECT varel_session.session_new(user_id => $1)",
            &[&user_id],
        )
        .await
        .expect("session_new")
        .get(0)
}

/// Moves the session's idle deadline a minute into the past, as time would (needs the table's
/// owner or a superuser).
pub async fn expire_now(client: &Client, token: &str) {
    client
        .execute(
            "UPDATE varel_session.sessions SET expires_at = now() - interval '1 minute' \
             WHERE token_hash = varel_session_internal.token_hash($1)",
            &[&token],
        )
        .await
        .expect("expire a session");
}

/// Installs the plain-SQL model of the API (`tests/integration/sql/model.sql`, schema `model`)
/// for the differential tests.
pub async fn install_model(client: &Client) {
    client
        .batch_execute(include_str!("../sql/model.sql"))
        .await
        .expect("install the SQL model");
}

/// A connection to `db` that LISTENs on `channel`, and the JSON payload of every notification
/// it receives (session events, as a websocket server or an audit log would see them).
pub async fn listen(
    db: &str,
    channel: &str,
) -> (
    Client,
    tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) {
    use futures::StreamExt;
    let (client, mut connection) = tokio_postgres::Config::new()
        .host(env("VAREL_TEST_HOST"))
        .port(env("VAREL_TEST_PORT").parse().unwrap())
        .user("postgres")
        .dbname(db)
        .connect(NoTls)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let payload = serde_json::from_str(n.payload()).expect("JSON payload");
                if tx.send(payload).is_err() {
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {channel}"))
        .await
        .unwrap();
    (client, rx)
}
