//! Shared by the client's integration tests: a pool on the test cluster that
//! `scripts/test.sh` starts (`VAREL_TEST_HOST`, `VAREL_TEST_PORT`, database `varel_it`).
#![allow(dead_code)]

use rand::Rng;
use varel_session_client::{Config, PostgresStore};

/// A variable `scripts/test.sh` sets for the tests.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `make test-env`, then `. target/test.env`")
    })
}

/// A pool on database `varel_it` at `host:port` as the superuser; deadpool's default size
/// unless `max_size` is given.
pub fn pool_at(host: &str, port: &str, max_size: Option<usize>) -> deadpool_postgres::Pool {
    pool_on(host, port, "varel_it", max_size)
}

/// A pool on database `dbname` at `host:port` as the superuser.
pub fn pool_on(
    host: &str,
    port: &str,
    dbname: &str,
    max_size: Option<usize>,
) -> deadpool_postgres::Pool {
    let mut pg = deadpool_postgres::Config::new();
    pg.host = Some(host.into());
    pg.port = Some(port.parse().expect("a port number"));
    pg.user = Some("postgres".into());
    pg.dbname = Some(dbname.into());
    pg.pool = max_size.map(deadpool_postgres::PoolConfig::new);
    pg.create_pool(None, tokio_postgres::NoTls).unwrap()
}

pub fn pool() -> deadpool_postgres::Pool {
    pool_at(&env("VAREL_TEST_HOST"), &env("VAREL_TEST_PORT"), None)
}

pub fn store() -> PostgresStore {
    PostgresStore::new(pool(), Config::default()).unwrap()
}

pub fn store_with(config: Config) -> PostgresStore {
    PostgresStore::new(pool(), config).unwrap()
}

pub fn unique_user_id() -> i64 {
    rand::rng().random_range(1_000_000_000..i64::MAX / 2)
}

/// Runs one SQL statement as the superuser and returns the first column of the first row.
pub async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    store: &PostgresStore,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> T {
    let client = store.pool().get().await.unwrap();
    client.query_one(sql, params).await.unwrap().get(0)
}

/// Moves the idle deadline of `token`'s session to `now() + offset` (an interval such as
/// `'1 hour'` or `'-1 second'`), as an administrator could, to test expiry without waiting.
pub async fn move_deadline(store: &PostgresStore, token: &str, offset: &str) {
    let client = store.pool().get().await.unwrap();
    let moved = client
        .execute(
            "UPDATE varel_session.sessions SET expires_at = now() + $2::text::interval
             WHERE token_hash = varel_session_internal.token_hash($1)",
            &[&token, &offset],
        )
        .await
        .unwrap();
    assert_eq!(moved, 1, "no session to move the deadline of");
}
