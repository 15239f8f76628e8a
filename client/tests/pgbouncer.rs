//! The client through pgbouncer 1.18 in transaction pooling mode (started by scripts/test.sh
//! on `VAREL_PGBOUNCER_PORT`, 4 server connections shared by many clients). pgbouncer before
//! 1.21 does not carry prepared statements between server connections, so the store runs with
//! `without_prepared_statements()`: every call is still one round trip.

mod common;

use varel_session_client::{Config, PostgresStore, Session, SessionStore};

fn store_through_pgbouncer() -> PostgresStore {
    let pool = common::pool_at("127.0.0.1", &common::env("VAREL_PGBOUNCER_PORT"), Some(32));
    PostgresStore::new(pool, Config::default())
        .unwrap()
        .without_prepared_statements()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_life_of_many_sessions_through_transaction_pooling() {
    let store = store_through_pgbouncer();
    let user = common::unique_user_id();
    let tasks = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut session = Session::new();
            session.set("i", i);
            store.save(&mut session).await.unwrap();
            for round in 0..20 {
                let mut loaded = store
                    .load(session.id().unwrap())
                    .await
                    .unwrap()
                    .expect("live");
                assert_eq!(loaded.get_as::<i64>("i"), Some(i));
                loaded.set("round", round);
                store.save(&mut loaded).await.unwrap();
            }
            store.set_user(&mut session, user, None).await.unwrap();
            store.regenerate_id(&mut session).await.unwrap();
            let loaded = store.load(session.id().unwrap()).await.unwrap().unwrap();
            assert_eq!(loaded.get_as::<i64>("round"), Some(19));
            assert_eq!(loaded.user_id(), Some(user));
        })
    });
    for task in futures::future::join_all(tasks).await {
        task.unwrap();
    }
    assert_eq!(store.user_sessions(user).await.unwrap().len(), 32);
    assert_eq!(store.revoke_user_sessions(user, None).await.unwrap(), 32);

    // And inside a transaction, which pgbouncer keeps on one server connection.
    let mut client = store.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let mut session = Session::new();
    session.set("in", "tx");
    store.on(&tx).save(&mut session).await.unwrap();
    let loaded = store
        .on(&tx)
        .load(session.id().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.get_as::<String>("in").as_deref(), Some("tx"));
    tx.commit().await.unwrap();
    assert!(store.delete(session.id().unwrap()).await.unwrap());
}
