//! The `SessionStore` contract, one set of cases run against both stores: `PostgresStore` on the
//! test cluster and `MemoryStore`. Whatever an application's tests learn from the in-memory
//! store holds for the real one.

mod common;

use common::unique_user_id;
use serde_json::json;
use std::time::Duration;
use varel_session_client::{
    AuthContext, Config, Error, IdpLogin, MemoryStore, PostgresStore, Session, SessionStore,
};

/// Whether a test is the only one that cleans up the store's expired sessions. The PostgreSQL
/// store's database is shared with the integration tests, which run `session_cleanup` at the
/// same time (the load test many times a second): there a session that expired may already be
/// gone, and a count of what this test's cleanup removed proves nothing.
trait CleansAlone {
    const CLEANS_ALONE: bool;
}

impl CleansAlone for MemoryStore {
    const CLEANS_ALONE: bool = true;
}

impl CleansAlone for PostgresStore {
    const CLEANS_ALONE: bool = false;
}

const DAY: Duration = Duration::from_secs(86_400);

/// A session in the store with `data`; its token.
async fn stored<S: SessionStore>(store: &S, data: serde_json::Value) -> (Session, String) {
    let mut session = Session::new();
    for (key, value) in data.as_object().unwrap() {
        session.set(key.clone(), value.clone());
    }
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    (session, token)
}

async fn save_creates_then_patches_clears_and_deletes<S: SessionStore>(store: S) {
    let (mut session, token) = stored(&store, json!({"theme": "dark", "cart": [1, 2]})).await;
    assert!(session.is_saved());
    assert_eq!(token.len(), 64);
    let loaded = store.load(&token).await.unwrap().expect("live");
    assert_eq!(loaded.get("cart"), Some(&json!([1, 2])));
    assert!(!loaded.is_authenticated());
    let ttl = loaded.time_to_live().unwrap();
    assert!(ttl > DAY - Duration::from_secs(60) && ttl <= DAY, "{ttl:?}");

    session.set("step", 2);
    session.delete("theme");
    store.save(&mut session).await.unwrap();
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(
        loaded.data(),
        json!({"cart": [1, 2], "step": 2}).as_object().unwrap()
    );

    session.clear();
    session.set("fresh", true);
    store.save(&mut session).await.unwrap();
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(loaded.data(), json!({"fresh": true}).as_object().unwrap());

    assert!(store.delete(&token).await.unwrap());
    assert!(!store.delete(&token).await.unwrap());
    assert!(store.load(&token).await.unwrap().is_none());
}

async fn malformed_unknown_and_ended_tokens_are_no_session<S: SessionStore>(store: S) {
    let (mut stale, ended) = stored(&store, json!({"a": 1})).await;
    store.delete(&ended).await.unwrap();
    for token in [
        "",
        "abc",
        &"z".repeat(64),
        &"0".repeat(64),
        &ended,
        &ended.to_uppercase(),
    ] {
        assert!(store.load(token).await.unwrap().is_none(), "{token:?}");
        assert_eq!(store.incr(token, "n", 1).await.unwrap(), None);
        assert_eq!(store.take(token, "a").await.unwrap(), None);
        assert_eq!(store.push(token, "l", &json!(1), None).await.unwrap(), None);
        assert_eq!(store.handle(token).await.unwrap(), None);
        assert!(!store.delete(token).await.unwrap());
    }
    // A stale copy of the ended session: every write is no session, none revives it.
    stale.set("revived", true);
    assert!(matches!(
        store.save(&mut stale).await,
        Err(Error::NoSession)
    ));
    for rotation in 0..3 {
        let mut copy = stale.clone();
        let result = match rotation {
            0 => store.regenerate_id(&mut copy).await,
            1 => store.set_user(&mut copy, unique_user_id(), None).await,
            _ => store.clear_user(&mut copy).await,
        };
        assert!(
            matches!(result, Err(Error::NoSession)),
            "rotation {rotation}"
        );
    }
    assert!(matches!(
        store.touch(&mut stale).await,
        Err(Error::NoSession)
    ));
    assert!(store.load(&ended).await.unwrap().is_none());
}

async fn concurrent_saves_of_different_keys_both_win<S: SessionStore + 'static>(store: S) {
    let (session, token) = stored(&store, json!({})).await;
    let writers = (0..8).map(|i| {
        let (store, mut copy) = (store.clone(), session.clone());
        tokio::spawn(async move {
            copy.set(format!("k{i}"), i);
            store.save(&mut copy).await.unwrap();
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap();
    }
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(loaded.data().len(), 8, "{:?}", loaded.data());
}

async fn rotations_keep_data_and_handle_and_end_the_old_token<S: SessionStore>(store: S) {
    let (mut session, first) = stored(&store, json!({"cart": 3})).await;
    let handle = store.handle(&first).await.unwrap().unwrap();
    assert_eq!(handle.len(), 16);
    let user = unique_user_id();

    store.regenerate_id(&mut session).await.unwrap();
    let second = session.id().unwrap().to_owned();
    store.set_user(&mut session, user, None).await.unwrap();
    let third = session.id().unwrap().to_owned();
    assert_eq!(session.user_id(), Some(user));
    store.clear_user(&mut session).await.unwrap();
    let fourth = session.id().unwrap().to_owned();
    assert_eq!(session.user_id(), None);

    for old in [&first, &second, &third] {
        assert!(
            store.load(old).await.unwrap().is_none(),
            "an old token works"
        );
    }
    let loaded = store.load(&fourth).await.unwrap().unwrap();
    assert_eq!(loaded.get("cart"), Some(&json!(3)));
    assert!(!loaded.is_authenticated());
    assert_eq!(store.handle(&fourth).await.unwrap(), Some(handle));

    // Logging in a session not yet in the store creates it for the user.
    let mut fresh = Session::new();
    fresh.set("k", "v");
    store.set_user(&mut fresh, user, None).await.unwrap();
    let loaded = store.load(fresh.id().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        (loaded.user_id(), loaded.get("k")),
        (Some(user), Some(&json!("v")))
    );
}

async fn remember_me_gives_the_session_its_own_lifetime<S: SessionStore>(store: S) {
    let month = 30 * DAY;
    let (mut session, _) = stored(&store, json!({})).await;
    store
        .set_user(&mut session, unique_user_id(), Some(month))
        .await
        .unwrap();
    assert_eq!(session.time_to_live(), Some(month));
    let loaded = store.load(session.id().unwrap()).await.unwrap().unwrap();
    let ttl = loaded.time_to_live().unwrap();
    assert!(
        ttl > month - Duration::from_secs(60) && ttl <= month,
        "{ttl:?}"
    );
    // A later log-in without one keeps it.
    store
        .set_user(&mut session, unique_user_id(), None)
        .await
        .unwrap();
    let loaded = store.load(session.id().unwrap()).await.unwrap().unwrap();
    assert!(loaded.time_to_live().unwrap() > DAY);

    // A new session given its own lifetime.
    let mut new = Session::new();
    new.set_max_age(2 * DAY);
    store.save(&mut new).await.unwrap();
    let loaded = store.load(new.id().unwrap()).await.unwrap().unwrap();
    assert!(loaded.time_to_live().unwrap() > DAY + DAY / 2);
}

async fn same_key_operations_are_atomic<S: SessionStore + 'static>(store: S) {
    let (_, token) = stored(&store, json!({"flash": "saved", "text": "x"})).await;
    let counters = (0..8).map(|_| {
        let (store, token) = (store.clone(), token.clone());
        tokio::spawn(async move {
            for _ in 0..25 {
                store.incr(&token, "visits", 1).await.unwrap().unwrap();
            }
        })
    });
    let takers = (0..8).map(|_| {
        let (store, token) = (store.clone(), token.clone());
        tokio::spawn(async move { store.take(&token, "flash").await.unwrap() })
    });
    for counter in futures::future::join_all(counters).await {
        counter.unwrap();
    }
    let taken: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .filter_map(|taker| taker.unwrap())
        .collect();
    assert_eq!(taken, [json!("saved")], "taken exactly once");
    assert_eq!(store.incr(&token, "visits", 0).await.unwrap(), Some(200));

    for item in 1..=4 {
        let length = store
            .push(&token, "recent", &json!(item), Some(3))
            .await
            .unwrap();
        assert_eq!(length, Some(item.min(3)));
    }
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(loaded.get("recent"), Some(&json!([2, 3, 4])));
    assert_eq!(loaded.get("flash"), None);

    // Programmer's mistakes, with PostgreSQL's SQLSTATEs.
    let not_an_integer = store.incr(&token, "text", 1).await.unwrap_err();
    assert_eq!(not_an_integer.sqlstate(), Some("22023"));
    let not_an_array = store
        .push(&token, "text", &json!(1), None)
        .await
        .unwrap_err();
    assert_eq!(not_an_array.sqlstate(), Some("22023"));
    let bad_max = store
        .push(&token, "recent", &json!(1), Some(0))
        .await
        .unwrap_err();
    assert_eq!(bad_max.sqlstate(), Some("22023"));
    store.incr(&token, "big", i64::MAX).await.unwrap();
    let overflow = store.incr(&token, "big", 1).await.unwrap_err();
    assert_eq!(overflow.sqlstate(), Some("22003"));
    // Messages name the key, never the token.
    for error in [not_an_integer, not_an_array, overflow] {
        assert!(!error.to_string().contains(&token), "{error}");
    }
    let loaded = store.load(&token).await.unwrap().unwrap();
    assert_eq!(
        loaded.get("text"),
        Some(&json!("x")),
        "a failed call changed nothing"
    );
}

async fn a_users_sessions_are_listed_and_revoked<S: SessionStore>(store: S) {
    let user = unique_user_id();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (mut session, _) = stored(&store, json!({})).await;
        store.set_user(&mut session, user, None).await.unwrap();
        tokens.push(session.id().unwrap().to_owned());
    }
    let listed = store.user_sessions(user).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed
        .windows(2)
        .all(|w| w[0].created_at >= w[1].created_at));
    let handle = store.handle(&tokens[0]).await.unwrap().unwrap();
    assert!(listed.iter().any(|s| s.handle == handle));

    assert!(store.revoke(user, &handle).await.unwrap());
    assert!(!store.revoke(user, &handle).await.unwrap());
    assert!(
        !store
            .revoke(user + 1, &store.handle(&tokens[1]).await.unwrap().unwrap())
            .await
            .unwrap(),
        "another user's handle ends nothing"
    );
    assert!(store.load(&tokens[0]).await.unwrap().is_none());

    assert_eq!(
        store
            .revoke_user_sessions(user, Some(&tokens[2]))
            .await
            .unwrap(),
        1
    );
    assert!(store.load(&tokens[1]).await.unwrap().is_none());
    assert!(store.load(&tokens[2]).await.unwrap().is_some());
    assert_eq!(store.revoke_user_sessions(user, None).await.unwrap(), 1);
    assert!(store.user_sessions(user).await.unwrap().is_empty());
}

/// The CSRF token as the extension derives it (sql/csrf.sql): SHA-256 of a prefix and the token.
fn derived_csrf(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("varel_session csrf token:{token}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn csrf_tokens_are_bound_to_the_token_and_rotate_with_it<S: SessionStore>(store: S) {
    let (mut session, first) = stored(&store, json!({"k": 1})).await;
    let (_, other) = stored(&store, json!({"k": 2})).await;
    let csrf = store.csrf_token(&first).await.unwrap().unwrap();
    assert_eq!(csrf, derived_csrf(&first), "the extension's derivation");
    assert!(store.verify_csrf(&first, &csrf).await.unwrap());
    let others = store.csrf_token(&other).await.unwrap().unwrap();
    assert_ne!(others, csrf);
    assert!(!store.verify_csrf(&first, &others).await.unwrap());
    assert!(!store.verify_csrf(&other, &csrf).await.unwrap());
    assert!(!store.verify_csrf(&first, &csrf[..63]).await.unwrap());
    assert!(!store.verify_csrf(&first, "").await.unwrap());

    store.regenerate_id(&mut session).await.unwrap();
    let second = session.id().unwrap().to_owned();
    let rotated = store.csrf_token(&second).await.unwrap().unwrap();
    assert_ne!(rotated, csrf, "a rotation changes it");
    assert!(!store.verify_csrf(&second, &csrf).await.unwrap());
    assert!(store.verify_csrf(&second, &rotated).await.unwrap());
    assert_eq!(store.csrf_token(&first).await.unwrap(), None);
    assert!(!store.verify_csrf(&first, &csrf).await.unwrap());
    for bad in ["", "not a token", &"0".repeat(64)] {
        assert_eq!(store.csrf_token(bad).await.unwrap(), None, "{bad:?}");
        assert!(!store.verify_csrf(bad, &derived_csrf(bad)).await.unwrap());
    }
}

async fn identity_provider_logouts_end_the_sessions_they_name<S: SessionStore>(store: S) {
    let user = unique_user_id();
    let iss = format!("https://idp-{user}.example");
    let login = |sid: &str| IdpLogin {
        iss: iss.clone(),
        sid: Some(sid.into()),
        sub: Some(format!("sub-{user}")),
    };
    let mut tokens = Vec::new();
    for sid in ["a", "b"] {
        let (mut session, _) = stored(&store, json!({})).await;
        store.set_user(&mut session, user, None).await.unwrap();
        let token = session.id().unwrap().to_owned();
        assert!(store.set_idp(&token, &login(sid)).await.unwrap());
        tokens.push(token);
    }
    let (anonymous, _) = stored(&store, json!({})).await;
    assert_eq!(
        store
            .set_idp(anonymous.id().unwrap(), &login("c"))
            .await
            .unwrap_err()
            .sqlstate(),
        Some("55000"),
        "a session without a user"
    );
    assert!(!store.set_idp("not a token", &login("c")).await.unwrap());
    let no_claims = IdpLogin {
        iss: iss.clone(),
        sid: None,
        sub: None,
    };
    assert_eq!(
        store
            .set_idp(&tokens[0], &no_claims)
            .await
            .unwrap_err()
            .sqlstate(),
        Some("22004")
    );

    assert_eq!(store.revoke_idp(&iss, Some("a"), None).await.unwrap(), 1);
    assert!(store.load(&tokens[0]).await.unwrap().is_none());
    assert!(store.load(&tokens[1]).await.unwrap().is_some());
    assert_eq!(
        store
            .revoke_idp("https://other.example", None, Some(&format!("sub-{user}")))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .revoke_idp(&iss, None, Some(&format!("sub-{user}")))
            .await
            .unwrap(),
        1
    );
    assert!(store.load(&tokens[1]).await.unwrap().is_none());
}

async fn sessions_expire_and_cleanup_removes_them<S: SessionStore + CleansAlone>(store: S) {
    let mut session = Session::new();
    session.set("k", 1);
    session.set_max_age(Duration::from_secs(1));
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    assert!(store.load(&token).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert!(store.load(&token).await.unwrap().is_none(), "expired");
    assert_eq!(
        store.incr(&token, "k", 1).await.unwrap(),
        None,
        "not revived"
    );
    let removed = store.cleanup().await.unwrap();
    if S::CLEANS_ALONE {
        assert!(removed >= 1, "the expired session is removed");
    }
}

async fn touch_slides_the_idle_deadline<S: SessionStore>(store: S) {
    let mut session = Session::new();
    session.set_max_age(Duration::from_secs(3));
    session.set("k", 1);
    store.save(&mut session).await.unwrap();
    let token = session.id().unwrap().to_owned();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        store.touch(&mut session).await.unwrap();
    }
    // 3.6 s after creation, alive because touched.
    assert!(store.load(&token).await.unwrap().is_some());
}

async fn log_ins_record_how_the_user_authenticated<S: SessionStore>(store: S) {
    const MINUTE: Duration = Duration::from_secs(60);
    let user = unique_user_id();
    // A log-in that states nothing is AAL1 with no methods.
    let (mut plain, _) = stored(&store, json!({"k": 1})).await;
    store.set_user(&mut plain, user, None).await.unwrap();
    let loaded = store.load(plain.id().unwrap()).await.unwrap().unwrap();
    assert_eq!((loaded.aal(), loaded.amr()), (Some(1), None));
    assert!(loaded.authenticated_at().is_some());
    assert!(loaded.authenticated_within(MINUTE, 1));
    assert!(!loaded.authenticated_within(MINUTE, 2));

    // A stated one, on a stored session and on a new one.
    let (mut strong, _) = stored(&store, json!({"k": 2})).await;
    let second_factor = AuthContext::new(2, ["pwd", "otp"]);
    store
        .set_user_with_context(&mut strong, user, None, &second_factor)
        .await
        .unwrap();
    let mut fresh = Session::new();
    fresh.set("cart", 3);
    store
        .set_user_with_context(&mut fresh, user, None, &second_factor)
        .await
        .unwrap();
    for session in [&strong, &fresh] {
        assert_eq!(
            (session.aal(), session.amr()),
            (Some(2), Some(&["pwd".to_owned(), "otp".to_owned()][..]))
        );
        let loaded = store.load(session.id().unwrap()).await.unwrap().unwrap();
        assert_eq!(loaded.user_id(), Some(user));
        assert_eq!(loaded.aal(), Some(2));
        assert_eq!(
            loaded.amr(),
            Some(&["pwd".to_owned(), "otp".to_owned()][..])
        );
        assert!(loaded.authenticated_within(MINUTE, 2));
        assert!(!loaded.authenticated_within(MINUTE, 3));
        let id = session.id().unwrap();
        assert!(store.auth_recent(id, MINUTE, 2).await.unwrap());
        assert!(!store.auth_recent(id, MINUTE, 3).await.unwrap());
    }
    assert_eq!(
        store
            .load(fresh.id().unwrap())
            .await
            .unwrap()
            .unwrap()
            .get_as::<i64>("cart"),
        Some(3)
    );

    // A step-up: a new token, the level raised, the methods kept when not stated.
    let before = strong.id().unwrap().to_owned();
    let step_up = AuthContext {
        aal: Some(3),
        amr: None,
    };
    store.reauthenticate(&mut strong, &step_up).await.unwrap();
    assert_ne!(strong.id().unwrap(), before);
    assert!(
        store.load(&before).await.unwrap().is_none(),
        "the old token is dead"
    );
    let loaded = store.load(strong.id().unwrap()).await.unwrap().unwrap();
    assert_eq!(loaded.aal(), Some(3));
    assert_eq!(
        loaded.amr(),
        Some(&["pwd".to_owned(), "otp".to_owned()][..])
    );
    assert!(store
        .auth_recent(strong.id().unwrap(), MINUTE, 3)
        .await
        .unwrap());
    // A stale token is no session; an anonymous session is the programmer's mistake.
    let mut stale = Session::new();
    store.save(&mut stale).await.unwrap();
    let mut gone = stale.clone();
    store.delete(gone.id().unwrap()).await.unwrap();
    assert!(matches!(
        store.reauthenticate(&mut gone, &step_up).await,
        Err(Error::NoSession)
    ));
    let (mut anonymous, token) = stored(&store, json!({"k": 3})).await;
    let refused = store
        .reauthenticate(&mut anonymous, &step_up)
        .await
        .unwrap_err();
    assert_eq!(refused.sqlstate(), Some("55000"));
    assert!(store.load(&token).await.unwrap().is_some(), "not rotated");
    let bad_level = store
        .set_user_with_context(&mut anonymous, user, None, &AuthContext::new(4, ["pwd"]))
        .await
        .unwrap_err();
    assert_eq!(bad_level.sqlstate(), Some("22023"));
    for bad in ["", "not a token", &"0".repeat(64)] {
        assert!(!store.auth_recent(bad, MINUTE, 1).await.unwrap(), "{bad:?}");
    }
    assert!(
        !store.auth_recent(&token, MINUTE, 1).await.unwrap(),
        "no user"
    );

    // A log-out forgets it.
    store.clear_user(&mut strong).await.unwrap();
    assert_eq!(strong.aal(), None);
    let loaded = store.load(strong.id().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        (loaded.aal(), loaded.amr(), loaded.authenticated_at()),
        (None, None, None)
    );
    assert!(!store
        .auth_recent(strong.id().unwrap(), MINUTE, 1)
        .await
        .unwrap());
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::common::store_with(super::Config::default())).await
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::MemoryStore::new(super::Config::default()).unwrap()).await
                }
            )*
        }
    };
}

contract!(
    save_creates_then_patches_clears_and_deletes,
    malformed_unknown_and_ended_tokens_are_no_session,
    concurrent_saves_of_different_keys_both_win,
    rotations_keep_data_and_handle_and_end_the_old_token,
    remember_me_gives_the_session_its_own_lifetime,
    same_key_operations_are_atomic,
    a_users_sessions_are_listed_and_revoked,
    csrf_tokens_are_bound_to_the_token_and_rotate_with_it,
    identity_provider_logouts_end_the_sessions_they_name,
    sessions_expire_and_cleanup_removes_them,
    touch_slides_the_idle_deadline,
    log_ins_record_how_the_user_authenticated,
);
