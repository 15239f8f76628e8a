//! The store's own promises, beyond actix-session's acceptance suite: concurrent requests
//! changing different keys both land, a session that ended elsewhere is never revived (and the
//! request is not failed), only a hash of the key is stored, a change of the user rotates the
//! key, and an unknown key stores nothing.

mod support;

use actix_session::storage::{SessionKey, SessionStore};
use std::collections::HashMap;
use time::Duration;
use varel_session_actix::VarelSessionStore;

fn store() -> VarelSessionStore {
    VarelSessionStore::new(support::pool()).with_user_key("user_id")
}

fn state(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn data(store: &VarelSessionStore, key: &SessionKey) -> Option<serde_json::Value> {
    let client = store.pool().get().await.unwrap();
    client
        .query_opt(
            "SELECT data FROM varel_session.session_get($1)",
            &[&key.as_ref()],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}

const HOUR: Duration = Duration::hours(1);

#[actix_web::test]
async fn concurrent_requests_changing_different_keys_both_land() {
    let store = store();
    let key = store.save(state(&[("a", "1")]), &HOUR).await.unwrap();
    for round in 0..20 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for name in ["left", "right"] {
            let (store, barrier) = (store.clone(), barrier.clone());
            let key = SessionKey::try_from(key.as_ref().to_owned()).unwrap();
            tasks.push(actix_web::rt::spawn(async move {
                let mut loaded = store.load(&key).await.unwrap().unwrap();
                barrier.wait().await;
                loaded.insert(name.to_owned(), round.to_string());
                store.update(key, loaded, &HOUR).await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let stored = data(&store, &key).await.unwrap();
        assert_eq!(stored["left"], round, "round {round}: {stored}");
        assert_eq!(stored["right"], round, "round {round}: {stored}");
    }
}

#[actix_web::test]
async fn a_session_that_ended_elsewhere_is_not_revived() {
    let store = store();
    let key = store.save(state(&[("a", "1")]), &HOUR).await.unwrap();
    let mut loaded = store.load(&key).await.unwrap().unwrap();
    store.delete(&key).await.unwrap();
    loaded.insert("late".into(), "true".into());
    let same = SessionKey::try_from(key.as_ref().to_owned()).unwrap();
    // Not an error (actix-session would answer 500): the request has no session any more.
    let after = store.update(same, loaded, &HOUR).await.unwrap();
    assert_eq!(data(&store, &after).await, None);
    assert_eq!(store.load(&key).await.unwrap(), None);
}

#[actix_web::test]
async fn only_a_hash_of_the_key_is_stored_and_a_log_in_rotates_it() {
    let store = store();
    let key = store.save(state(&[("a", "1")]), &HOUR).await.unwrap();
    let client = store.pool().get().await.unwrap();
    let in_clear: i64 = client
        .query_one(
            "SELECT count(*) FROM varel_session.sessions
             WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0
                OR token_hash = decode($1, 'hex') OR data::text LIKE '%' || $1 || '%'",
            &[&key.as_ref()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_clear, 0);
    // Logging in (the user key appears) rotates the key; the old one is dead.
    let mut loaded = store.load(&key).await.unwrap().unwrap();
    loaded.insert("user_id".into(), "4242".into());
    let old = key.as_ref().to_owned();
    let rotated = store.update(key, loaded, &HOUR).await.unwrap();
    assert_ne!(rotated.as_ref(), old);
    let old = SessionKey::try_from(old).unwrap();
    assert_eq!(store.load(&old).await.unwrap(), None);
    let user: Option<i64> = client
        .query_one(
            "SELECT user_id FROM varel_session.session_get($1)",
            &[&rotated.as_ref()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(user, Some(4242));
}

#[actix_web::test]
async fn an_unknown_or_malformed_key_names_no_session() {
    let store = store();
    for text in ["x".to_owned(), "0".repeat(64), "A".repeat(4000)] {
        let key = SessionKey::try_from(text).unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None);
    }
}

#[actix_web::test]
async fn csrf_tokens_are_bound_to_the_key_and_end_with_the_session() {
    let store = store();
    assert!(!store.verify_csrf(None, &"0".repeat(64)).await.unwrap());
    let key = store.save(state(&[("a", "1")]), &HOUR).await.unwrap();
    let token = store.csrf_token(key.as_ref()).await.unwrap().unwrap();
    assert_eq!(token.len(), 64);
    assert!(store.verify_csrf(Some(key.as_ref()), &token).await.unwrap());
    assert!(!store
        .verify_csrf(Some(key.as_ref()), &token[..63])
        .await
        .unwrap());
    // Another session's token is refused.
    let other = store.save(state(&[("b", "2")]), &HOUR).await.unwrap();
    assert!(!store
        .verify_csrf(Some(other.as_ref()), &token)
        .await
        .unwrap());
    // Ended: no token, nothing verifies.
    store.delete(&key).await.unwrap();
    assert_eq!(store.csrf_token(key.as_ref()).await.unwrap(), None);
    assert!(!store.verify_csrf(Some(key.as_ref()), &token).await.unwrap());
    store.delete(&other).await.unwrap();
}
