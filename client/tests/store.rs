//! PostgresStore against a real cluster with the extension: every method.

mod common;

use common::{move_deadline, scalar, store, store_with, unique_user_id};
use serde_json::json;
use std::time::Duration;
use varel_session_client::{Config, Error, Session, SessionStore};

#[tokio::test]
async fn save_creates_then_patches_and_load_reads_back() {
    let store = store();
    let mut session = Session::new();
    session.set("theme", "dark");
    session.set("cart", json!([1, 2]));
    assert!(session.id().is_none() && !session.is_saved());
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    assert!(session.is_saved());
    assert_eq!(token.len(), 64);

    let mut loaded = store.load(&token).await.unwrap().expect("live");
    assert_eq!(loaded.get("theme"), Some(&json!("dark")));
    assert_eq!(loaded.get_as::<Vec<i32>>("cart"), Some(vec![1, 2]));
    assert!(!loaded.is_authenticated() && !loaded.is_expired());
    let ttl = loaded.time_to_live().unwrap();
    assert!(
        ttl > Duration::from_secs(86_000) && ttl <= Duration::from_secs(86_400),
        "{ttl:?}"
    );

    loaded.set("step", 2);
    loaded.delete("theme");
    store.save(&mut loaded).await.unwrap();
    let again = store.load(&token).await.unwrap().unwrap();
    assert_eq!(
        again.data(),
        json!({"cart": [1, 2], "step": 2}).as_object().unwrap()
    );

    loaded.clear();
    loaded.set("fresh", true);
    store.save(&mut loaded).await.unwrap();
    let cleared = store.load(&token).await.unwrap().unwrap();
    assert_eq!(cleared.data(), json!({"fresh": true}).as_object().unwrap());

    assert!(store.delete(&token).await.unwrap());
    assert!(!store.delete(&token).await.unwrap());
    assert!(store.load(&token).await.unwrap().is_none());
}

#[tokio::test]
async fn malformed_or_unknown_tokens_are_no_session() {
    let store = store();
    for token in [
        "",
        "abc",
        &"z".repeat(64),
        &"0".repeat(64),
        "'; DROP TABLE x; --",
    ] {
        assert!(store.load(token).await.unwrap().is_none(), "{token:?}");
        assert!(!store.delete(token).await.unwrap());
    }
}

#[tokio::test]
async fn saving_a_session_that_ended_is_no_session() {
    let store = store();
    let mut session = Session::new();
    session.set("a", 1);
    store.save(&mut session).await.unwrap();
    store.delete(session.id().unwrap()).await.unwrap();
    session.set("b", 2);
    assert!(matches!(
        store.save(&mut session).await,
        Err(Error::NoSession)
    ));
    assert!(matches!(
        store.regenerate_id(&mut session).await,
        Err(Error::NoSession)
    ));
    assert!(matches!(
        store.touch(&mut session).await,
        Err(Error::NoSession)
    ));
}

#[tokio::test]
async fn concurrent_saves_of_different_keys_both_win() {
    let store = store();
    let mut session = Session::new();
    session.set("base", 0);
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    // Two "requests" load the same session, change different keys, and save.
    let mut first = store.load(&token).await.unwrap().unwrap();
    let mut second = store.load(&token).await.unwrap().unwrap();
    first.set("from_first", 1);
    second.set("from_second", 2);
    let (a, b) = futures::join!(store.save(&mut first), store.save(&mut second));
    a.unwrap();
    b.unwrap();
    let merged = store.load(&token).await.unwrap().unwrap();
    assert_eq!(
        merged.data(),
        json!({"base": 0, "from_first": 1, "from_second": 2})
            .as_object()
            .unwrap()
    );
}

#[tokio::test]
async fn regenerate_set_user_clear_user_rotate_the_token() {
    let store = store();
    let user = unique_user_id();
    let mut session = Session::new();
    session.set("cart", 3);
    store.save(&mut session).await.unwrap();
    let t1 = session.id().unwrap().to_owned();

    store.regenerate_id(&mut session).await.unwrap();
    let t2 = session.id().unwrap().to_owned();
    assert_ne!(t1, t2);
    assert!(store.load(&t1).await.unwrap().is_none());

    store.set_user(&mut session, user, None).await.unwrap();
    let t3 = session.id().unwrap().to_owned();
    assert_ne!(t2, t3);
    assert!(store.load(&t2).await.unwrap().is_none());
    let logged_in = store.load(&t3).await.unwrap().unwrap();
    assert_eq!(logged_in.user_id(), Some(user));
    assert!(logged_in.is_authenticated());
    assert_eq!(logged_in.get_as::<i32>("cart"), Some(3));

    store.clear_user(&mut session).await.unwrap();
    let t4 = session.id().unwrap().to_owned();
    let logged_out = store.load(&t4).await.unwrap().unwrap();
    assert_eq!(logged_out.user_id(), None);
    assert_eq!(logged_out.get_as::<i32>("cart"), Some(3));
    assert!(store.load(&t3).await.unwrap().is_none());
    store.delete(&t4).await.unwrap();
}

#[tokio::test]
async fn set_user_on_a_new_session_creates_it_for_the_user() {
    let store = store();
    let user = unique_user_id();
    let mut session = Session::new();
    session.set("lang", "fr");
    session.record_client(
        Some("203.0.113.9".parse().unwrap()),
        Some("test-agent".into()),
    );
    store.set_user(&mut session, user, None).await.unwrap();
    let loaded = store.load(session.id().unwrap()).await.unwrap().unwrap();
    assert_eq!(loaded.user_id(), Some(user));
    assert_eq!(loaded.get_as::<String>("lang").as_deref(), Some("fr"));
    let devices = store.user_sessions(user).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].ip, Some("203.0.113.9".parse().unwrap()));
    assert_eq!(devices[0].user_agent.as_deref(), Some("test-agent"));
    assert_eq!(store.revoke_user_sessions(user, None).await.unwrap(), 1);
}

#[tokio::test]
async fn touch_slides_the_deadline() {
    let store = store();
    let mut session = Session::new();
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    move_deadline(&store, &token, "1 minute").await;
    let before = store.load(&token).await.unwrap().unwrap();
    // 1 minute of 24 hours left: the load itself slid it (throttle passed).
    assert!(before.was_refreshed());
    store.touch(&mut session).await.unwrap();
    let left = session.expires_at().unwrap() - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::hours(23), "{left}");
    store.delete(&token).await.unwrap();
}

#[tokio::test]
async fn a_fresh_load_does_not_count_as_a_refresh() {
    let store = store();
    let mut session = Session::new();
    store.save(&mut session).await.unwrap();
    let loaded = store.load(session.id().unwrap()).await.unwrap().unwrap();
    assert!(
        !loaded.was_refreshed(),
        "nothing to slide right after creation"
    );
    store.delete(session.id().unwrap()).await.unwrap();
}

#[tokio::test]
async fn user_sessions_handles_and_revocation() {
    let store = store();
    let user = unique_user_id();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let mut session = Session::new();
        store.set_user(&mut session, user, None).await.unwrap();
        tokens.push(session.id().unwrap().to_owned());
    }
    let devices = store.user_sessions(user).await.unwrap();
    assert_eq!(devices.len(), 3);
    assert!(devices
        .windows(2)
        .all(|w| w[0].created_at >= w[1].created_at));
    let handle = store.handle(&tokens[0]).await.unwrap().unwrap();
    assert!(devices.iter().any(|d| d.handle == handle));
    assert!(tokens
        .iter()
        .all(|t| !devices.iter().any(|d| d.handle.contains(&t[..16]))));

    assert!(store.revoke(user, &handle).await.unwrap());
    assert!(!store.revoke(user, &handle).await.unwrap());
    assert!(!store
        .revoke(user + 1, &store.handle(&tokens[1]).await.unwrap().unwrap())
        .await
        .unwrap());
    assert!(store.load(&tokens[0]).await.unwrap().is_none());

    assert_eq!(
        store
            .revoke_user_sessions(user, Some(&tokens[1]))
            .await
            .unwrap(),
        1
    );
    assert!(store.load(&tokens[1]).await.unwrap().is_some());
    assert!(store.load(&tokens[2]).await.unwrap().is_none());
    assert_eq!(store.revoke_user_sessions(user, None).await.unwrap(), 1);
    assert!(store.user_sessions(user).await.unwrap().is_empty());
}

#[tokio::test]
async fn cleanup_removes_expired_sessions() {
    let store = store();
    let mut session = Session::new();
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    move_deadline(&store, &token, "-1 second").await;
    // The integration tests clean up the same database at the same time, so this cleanup may
    // find the session gone already: what it must leave is no row.
    store.cleanup().await.unwrap();
    let left: i64 = scalar(
        &store,
        "SELECT count(*) FROM varel_session.sessions WHERE token_hash = varel_session_internal.token_hash($1)",
        &[&token],
    )
    .await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn writes_join_the_callers_transaction() {
    let store = store();
    let mut session = Session::new();
    session.set("n", 1);
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();

    let mut client = store.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let mut inside = store.on(&tx).load(&token).await.unwrap().unwrap();
    inside.set("n", 2);
    store.on(&tx).save(&mut inside).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store
            .load(&token)
            .await
            .unwrap()
            .unwrap()
            .get_as::<i32>("n"),
        Some(1)
    );

    let tx = client.transaction().await.unwrap();
    let in_tx = store.on(&tx);
    let mut inside = in_tx.load(&token).await.unwrap().unwrap();
    inside.set("n", 3);
    in_tx.save(&mut inside).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store
            .load(&token)
            .await
            .unwrap()
            .unwrap()
            .get_as::<i32>("n"),
        Some(3)
    );
    store.delete(&token).await.unwrap();
}

#[tokio::test]
async fn data_over_the_limit_is_a_database_error_with_its_sqlstate() {
    let store = store();
    let mut session = Session::new();
    session.set("big", "x".repeat(70_000));
    let error = store.save(&mut session).await.unwrap_err();
    assert_eq!(error.sqlstate(), Some("54000"), "{error}");
    assert!(!matches!(error, Error::NoSession));
}

#[tokio::test]
async fn statements_are_prepared_once_per_connection() {
    let pool = common::pool();
    let store = varel_session_client::PostgresStore::new(pool.clone(), Config::default()).unwrap();
    let client = pool.get().await.unwrap();
    let before = client.statement_cache.size();
    for _ in 0..5 {
        store.on(&client).load(&"0".repeat(64)).await.unwrap();
    }
    assert_eq!(client.statement_cache.size(), before + 1);
}

#[test]
fn an_invalid_config_is_refused_by_the_store() {
    let config = Config {
        same_site: varel_session_client::SameSite::None,
        ..Config::default()
    };
    let result = varel_session_client::PostgresStore::new(common::pool(), config);
    assert!(matches!(result, Err(Error::Config(_))));
    let _ = store_with(Config::default());
}

#[tokio::test]
async fn counters_flash_values_and_lists_are_atomic_operations() {
    let store = store();
    let mut session = Session::new();
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    assert_eq!(store.incr(&token, "visits", 1).await.unwrap(), Some(1));
    assert_eq!(store.incr(&token, "visits", 5).await.unwrap(), Some(6));
    session.set("flash", "saved");
    store.save(&mut session).await.unwrap();
    assert_eq!(
        store.take(&token, "flash").await.unwrap(),
        Some(serde_json::json!("saved"))
    );
    assert_eq!(store.take(&token, "flash").await.unwrap(), None);
    for item in 1..=4 {
        let length = store
            .push(&token, "recent", &serde_json::json!(item), Some(3))
            .await
            .unwrap();
        assert_eq!(length, Some(item.min(3)));
    }
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(loaded.get("recent"), Some(&serde_json::json!([2, 3, 4])));
    // A non-integer counter is the programmer's mistake, with its SQLSTATE.
    let error = store.incr(&token, "recent", 1).await.unwrap_err();
    assert_eq!(error.sqlstate(), Some("22023"));
    store.delete(&token).await.unwrap();
    assert_eq!(store.incr(&token, "visits", 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_remembered_session_counts_as_refreshed_only_when_its_load_slid_it() {
    let store = store();
    let user = unique_user_id();
    // A week: under the default absolute deadline (30 days), which would cut a slide short.
    let week = Duration::from_secs(7 * 86_400);
    let mut session = Session::new();
    session.set("k", 1);
    store.save(&mut session).await.unwrap();
    store
        .set_user(&mut session, user, Some(week))
        .await
        .unwrap();
    let token = session.id().unwrap().to_owned();
    let fresh = store.load(&token).await.unwrap().unwrap();
    assert!(!fresh.was_refreshed(), "a load that slid nothing");
    move_deadline(&store, &token, "1 hour").await;
    let mut slid = store.load(&token).await.unwrap().unwrap();
    assert!(
        slid.was_refreshed(),
        "the load slid the remembered lifetime"
    );
    assert_eq!(slid.time_to_live(), Some(week));
    // A later log-in without a lifetime keeps the remembered one, and says so.
    store.set_user(&mut slid, user, None).await.unwrap();
    assert!(slid.time_to_live().unwrap() > Duration::from_secs(6 * 86_400));
    let reloaded = store.load(slid.id().unwrap()).await.unwrap().unwrap();
    assert!(reloaded.time_to_live().unwrap() > Duration::from_secs(6 * 86_400));
    store.delete(slid.id().unwrap()).await.unwrap();
}
