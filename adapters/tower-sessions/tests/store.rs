//! The store's own promises, beyond tower-sessions' suite (route_tests.rs): concurrent requests
//! changing different keys both land, a session that ended elsewhere is never revived, only a
//! hash of the id is stored, the lifetime an app sets is kept, and a bad id stores nothing.

mod support;

use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tower_sessions::session::Id;
use tower_sessions::{Expiry, Session, SessionStore};
use varel_session_tower_sessions::VarelStore;

fn store() -> VarelStore {
    VarelStore::new(support::pool()).with_user_key("user_id")
}

/// A request's session over `store`, as the layer makes it for a cookie naming `id`.
fn request(store: &VarelStore, id: Option<Id>) -> Session {
    Session::new(id, Arc::new(store.clone()), None)
}

async fn stored_data(store: &VarelStore, id: &Id) -> Option<serde_json::Value> {
    let client = store.pool().get().await.unwrap();
    client
        .query_opt(
            "SELECT data FROM varel_session.session_get($1)",
            &[&id.to_string()],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}

/// A new session with `{"a": 1}`, saved; its id.
async fn new_session(store: &VarelStore) -> Id {
    let session = request(store, None);
    session.insert("a", 1).await.unwrap();
    session.save().await.unwrap();
    session.id().unwrap()
}

#[tokio::test]
async fn concurrent_requests_changing_different_keys_both_land() {
    let store = store();
    let id = new_session(&store).await;
    for round in 0..20 {
        // Two requests in tasks of their own (as hyper runs them), both loading before either
        // saves: each writes only its own key.
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = ["left", "right"]
            .into_iter()
            .map(|key| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    let session = request(&store, Some(id));
                    session.load().await.unwrap();
                    barrier.wait().await;
                    session.insert(key, round).await.unwrap();
                    session.save().await.unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let data = stored_data(&store, &id).await.unwrap();
        assert_eq!(data["left"], round, "round {round}: {data}");
        assert_eq!(data["right"], round, "round {round}: {data}");
        assert_eq!(data["a"], 1);
    }
}

#[tokio::test]
async fn a_removal_and_a_concurrent_change_of_another_key_both_land() {
    let store = store();
    let id = new_session(&store).await;
    let (first, second) = (request(&store, Some(id)), request(&store, Some(id)));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let b = barrier.clone();
    let removing = tokio::spawn(async move {
        first.load().await.unwrap();
        b.wait().await;
        first.remove::<i32>("a").await.unwrap();
        first.save().await.unwrap();
    });
    let adding = tokio::spawn(async move {
        second.load().await.unwrap();
        barrier.wait().await;
        second.insert("b", 2).await.unwrap();
        second.save().await.unwrap();
    });
    removing.await.unwrap();
    adding.await.unwrap();
    assert_eq!(
        stored_data(&store, &id).await.unwrap(),
        serde_json::json!({"b": 2})
    );
}

#[tokio::test]
async fn a_session_that_ended_elsewhere_is_not_revived() {
    let store = store();
    let id = new_session(&store).await;
    let session = request(&store, Some(id));
    session.load().await.unwrap();
    // Logged out on another device while this request runs.
    store.delete(&id).await.unwrap();
    session.insert("late", true).await.unwrap();
    session.save().await.unwrap();
    assert_eq!(stored_data(&store, &id).await, None);
    // Nor through a whole-record save (a record the store did not see loaded).
    let record = tower_sessions::session::Record {
        id,
        data: [("late".to_owned(), serde_json::json!(true))].into(),
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    };
    tokio::spawn({
        let store = store.clone();
        async move { store.save(&record).await.unwrap() }
    })
    .await
    .unwrap();
    assert_eq!(stored_data(&store, &id).await, None);
}

#[tokio::test]
async fn only_a_hash_of_the_id_is_stored() {
    let store = store();
    let id = new_session(&store).await;
    let client = store.pool().get().await.unwrap();
    let text = id.to_string();
    let in_clear: i64 = client
        .query_one(
            "SELECT count(*) FROM varel_session.sessions
             WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0 OR data::text LIKE '%' || $1 || '%'",
            &[&text],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(in_clear, 0);
    let by_hash: i64 = client
        .query_one(
            "SELECT count(*) FROM varel_session.sessions
             WHERE token_hash = sha256(convert_to('varel_session framework id:' || $1, 'UTF8'))",
            &[&text],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(by_hash, 1);
}

#[tokio::test]
async fn the_lifetime_an_app_sets_is_kept() {
    let store = store();
    let session = request(&store, None);
    session.set_expiry(Some(Expiry::OnInactivity(Duration::hours(1))));
    session.insert("a", 1).await.unwrap();
    session.save().await.unwrap();
    let id = session.id().unwrap();
    let lifetime = |store: VarelStore| async move {
        let client = store.pool().get().await.unwrap();
        let seconds: f64 = client
            .query_one(
                "SELECT extract(epoch FROM expires_at - now())::float8 FROM varel_session.session_get($1)",
                &[&id.to_string()],
            )
            .await
            .unwrap()
            .get(0);
        seconds
    };
    assert!((3500.0..=3600.0).contains(&lifetime(store.clone()).await));
    // "Remember me": thirty days from now on.
    let remembered = request(&store, Some(id));
    remembered.load().await.unwrap();
    remembered.set_expiry(Some(Expiry::OnInactivity(Duration::days(30))));
    remembered.insert("remember", true).await.unwrap();
    remembered.save().await.unwrap();
    let month = 30.0 * 86400.0;
    assert!((month - 100.0..=month).contains(&lifetime(store.clone()).await));
}

#[tokio::test]
async fn an_unknown_or_malformed_id_stores_nothing_and_gets_a_new_one() {
    let store = store();
    let client = store.pool().get().await.unwrap();
    let unknown = Id::default();
    let rows_before: i64 = client
        .query_one("SELECT count(*) FROM varel_session.sessions", &[])
        .await
        .unwrap()
        .get(0);
    // A request that only reads, with an unknown id: nothing is stored.
    let session = request(&store, Some(unknown));
    assert_eq!(session.get::<i32>("a").await.unwrap(), None);
    session.save().await.ok();
    assert_eq!(stored_data(&store, &unknown).await, None);
    // One that writes gets a session under a new id, never the one it presented.
    let session = request(&store, Some(unknown));
    session.insert("a", 1).await.unwrap();
    session.save().await.unwrap();
    assert_ne!(session.id(), Some(unknown));
    assert_eq!(stored_data(&store, &unknown).await, None);
    let rows_after: i64 = client
        .query_one("SELECT count(*) FROM varel_session.sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert!(rows_after > rows_before);
}

#[tokio::test]
async fn the_user_key_is_the_sessions_user_for_the_per_user_functions() {
    let store = store();
    let user = 880_000 + i64::from(rand_suffix());
    let session = request(&store, None);
    session.insert("user_id", user).await.unwrap();
    session.save().await.unwrap();
    let client = store.pool().get().await.unwrap();
    let listed: i64 = client
        .query_one(
            "SELECT count(*) FROM varel_session.session_user_sessions($1)",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 1);
    let ended: i64 = client
        .query_one("SELECT varel_session.session_user_revoke($1)", &[&user])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ended, 1);
    assert_eq!(store.load(&session.id().unwrap()).await.unwrap(), None);
}

fn rand_suffix() -> u16 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 60_000) as u16
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_the_id_and_change_with_it() {
    let store = store();
    let session = request(&store, None);
    assert!(!store
        .verify_csrf(session.id().as_ref(), &"0".repeat(64))
        .await
        .unwrap());
    session.insert("a", 1).await.unwrap();
    session.save().await.unwrap();
    let id = session.id().unwrap();
    let token = store.csrf_token(&id).await.unwrap().unwrap();
    assert_eq!(token.len(), 64);
    assert!(store.verify_csrf(Some(&id), &token).await.unwrap());
    assert!(!store.verify_csrf(Some(&id), &token[..63]).await.unwrap());
    assert!(!store.verify_csrf(Some(&id), "").await.unwrap());
    // A new id (log-in) gives a new token; the old form is refused.
    session.cycle_id().await.unwrap();
    session.save().await.unwrap();
    let cycled = session.id().unwrap();
    let fresh = store.csrf_token(&cycled).await.unwrap().unwrap();
    assert_ne!(fresh, token);
    assert!(!store.verify_csrf(Some(&cycled), &token).await.unwrap());
    assert!(store.verify_csrf(Some(&cycled), &fresh).await.unwrap());
    // The old id's session is gone: no token, nothing verifies.
    assert_eq!(store.csrf_token(&id).await.unwrap(), None);
    assert!(!store.verify_csrf(Some(&id), &token).await.unwrap());
    session.delete().await.unwrap();
}
