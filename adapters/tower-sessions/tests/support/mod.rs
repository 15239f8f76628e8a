//! The database the tests use: `varel_adapters` on the test cluster that `make test-env` (or
//! `make test`) starts, as `target/test.env` describes it.
#![allow(dead_code)]

use deadpool_postgres::{Config, Pool};

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `make test-env`, then `. target/test.env`")
    })
}

pub fn pool() -> Pool {
    let mut config = Config::new();
    config.host = Some(env("VAREL_TEST_HOST"));
    config.port = Some(env("VAREL_TEST_PORT").parse().expect("a port"));
    config.user = Some("postgres".into());
    config.dbname = Some("varel_adapters".into());
    config
        .create_pool(None, tokio_postgres::NoTls)
        .expect("a pool")
}
