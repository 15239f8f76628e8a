//! Hostile input through the SQL API: generated tokens, keys, values and patches (random bytes
//! made into text, odd Unicode, SQL metacharacters, huge and empty strings, deep JSON), and
//! bytes that are not UTF-8. Nothing crashes the server, no malformed token is accepted, every
//! error is a clean ERROR with a specific SQLSTATE, and accepted writes read back exactly.
//! The token parser itself gets a million generated inputs in its unit tests (extension/src/token.rs);
//! here the server sees 200,000 more tokens, 20,000 key/value pairs and 5,000 patches.

use bytes::BytesMut;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::Client;
use varel_session_integration::{api_db, connect, new_session};

/// SQLSTATEs a hostile input may legitimately produce.
const CLEAN: &[&str] = &[
    "22004", // null_value_not_allowed
    "22023", // invalid_parameter_value (not an object)
    "54000", // program_limit_exceeded (data too large)
    "54001", // statement_too_complex (JSON nested too deep)
    "22021", // character_not_in_repertoire (not UTF-8)
];

async fn postmaster_started(client: &Client) -> String {
    client
        .query_one("SELECT pg_postmaster_start_time()::text", &[])
        .await
        .unwrap()
        .get(0)
}

fn check_clean(result: &Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>, what: &str) {
    if let Err(error) = result {
        let db = error
            .as_db_error()
            .unwrap_or_else(|| panic!("{what}: not a clean server error: {error}"));
        assert!(
            CLEAN.contains(&db.code().code()),
            "{what}: unexpected SQLSTATE {} ({db})",
            db.code().code()
        );
    }
}

/// Text from any bytes: random bytes decoded lossily (so any Unicode shows up), without NUL,
/// which PostgreSQL text cannot hold (tested separately below).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any::<String>(),
        "[0-9a-fA-F]{60,68}",
        // A framework id's alphabet, across its length limits (22 to 128).
        "[A-Za-z0-9_,.-]{18,132}",
        Just(String::new()),
        Just("'; DROP TABLE varel_session.sessions; --".to_owned()),
        Just("\\x00\\'\" $$ %s %n {}[]".to_owned()),
        Just("\u{202e}\u{feff}\u{1f600}\u{10ffff}".to_owned()),
    ]
    .prop_map(|s| s.replace('\0', ""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_tokens_name_no_session() {
    let client = connect(&api_db()).await;
    let started = postmaster_started(&client).await;
    let token = new_session(&client, None).await;
    // Every input goes through session_get; every tenth also through load, set and destroy.
    let statement = client
        .prepare(
            "SELECT count(g.*) + count(l.*)
                  + count(*) FILTER (WHERE n % 10 = 0 AND varel_session.session_set(x, 'k', 'v'))
                  + count(*) FILTER (WHERE n % 10 = 0 AND varel_session.session_destroy(x))
             FROM unnest($1::text[]) WITH ORDINALITY AS t(x, n)
             LEFT JOIN LATERAL varel_session.session_get(x) AS g ON true
             LEFT JOIN LATERAL varel_session.session_load(x) AS l ON n % 10 = 0",
        )
        .await
        .unwrap();
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let mutated = (0..64usize, any::<char>()).prop_map({
        let token = token.clone();
        move |(at, c)| {
            let mut chars: Vec<char> = token.chars().collect();
            if chars[at].eq_ignore_ascii_case(&c) {
                return String::new();
            }
            chars[at] = c;
            chars.into_iter().collect::<String>().replace('\0', "")
        }
    });
    // A session under a framework id (43 URL-safe characters, as scs mints), and its id with
    // one character changed: a framework id is case-sensitive, so a change of case counts.
    let framework_id: String = {
        use rand::Rng;
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = rand::rng();
        (0..43)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect()
    };
    let adopted: bool = client
        .query_one("SELECT varel_session.session_adopt($1)", &[&framework_id])
        .await
        .unwrap()
        .get(0);
    assert!(adopted);
    let mutated_framework_id = (0..43usize, any::<char>()).prop_map({
        let id = framework_id.clone();
        move |(at, c)| {
            let mut chars: Vec<char> = id.chars().collect();
            if chars[at] == c {
                return String::new();
            }
            chars[at] = c;
            chars.into_iter().collect::<String>().replace('\0', "")
        }
    });
    let strategy = prop_oneof![3 => text(), 1 => mutated, 1 => mutated_framework_id];
    let mut total = 0usize;
    for _batch in 0..20 {
        let batch: Vec<String> = (0..10_000)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect();
        let found: i64 = client
            .query_one(&statement, &[&batch])
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 0, "a malformed or foreign token named a session");
        total += batch.len();
    }
    assert!(total >= 200_000);
    // The real token, in either case, and the framework id still work: the filter did not
    // just reject everything.
    for t in [token.clone(), token.to_uppercase(), framework_id.clone()] {
        let rows = client
            .query("SELECT 1 FROM varel_session.session_get($1)", &[&t])
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
    }
    assert_eq!(
        postmaster_started(&client).await,
        started,
        "the server restarted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_keys_and_values_round_trip_or_fail_cleanly() {
    let client = connect(&api_db()).await;
    let started = postmaster_started(&client).await;
    let token = new_session(&client, None).await;
    let set = client
        .prepare("SELECT varel_session.session_set($1, $2, $3)")
        .await
        .unwrap();
    let get = client
        .prepare("SELECT varel_session.session_get($1, $2)")
        .await
        .unwrap();
    let clear = client
        .prepare("SELECT varel_session.session_clear($1)")
        .await
        .unwrap();
    let huge = prop_oneof![Just(0usize), Just(70_000usize)].prop_map(|n| "x".repeat(n));
    let strategy = (text(), prop_oneof![4 => text(), 1 => huge]);
    let mut runner = TestRunner::new(Config {
        cases: 20_000,
        failure_persistence: None,
        ..Config::default()
    });
    let (accepted, refused) = (Cell::new(0), Cell::new(0));
    let handle = tokio::runtime::Handle::current();
    runner
        .run(&strategy, |(key, value)| {
            let result = tokio::task::block_in_place(|| {
                handle.block_on(async {
                    client.query(&clear, &[&token]).await.unwrap();
                    client.query(&set, &[&token, &key, &value]).await
                })
            });
            check_clean(&result, "session_set");
            match result {
                Ok(rows) => {
                    prop_assert!(rows[0].get::<_, bool>(0));
                    let back: Option<String> = tokio::task::block_in_place(|| {
                        handle.block_on(client.query_one(&get, &[&token, &key]))
                    })
                    .unwrap()
                    .get(0);
                    prop_assert_eq!(back.as_deref(), Some(value.as_str()));
                    accepted.set(accepted.get() + 1);
                }
                Err(_) => refused.set(refused.get() + 1),
            }
            Ok(())
        })
        .unwrap();
    let (accepted, refused) = (accepted.get(), refused.get());
    eprintln!("keys and values: {accepted} round-tripped, {refused} refused cleanly (too large)");
    assert!(accepted > 0 && refused > 0);
    assert_eq!(
        postmaster_started(&client).await,
        started,
        "the server restarted"
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        // Finite, and not -0.0 (jsonb's numeric has no negative zero).
        any::<f64>()
            .prop_filter("finite, not -0", |f| f.is_finite()
                && !(*f == 0.0 && f.is_sign_negative()))
            .prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON equality where numbers compare by value: jsonb keeps numbers as `numeric`, so an
/// integral float such as 3.377083585372029e16 comes back as the integer 33770835853720290.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// The merge the server must do: keys set, null removes, others kept (one level deep).
fn merged(mut base: Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    for (key, value) in patch {
        if value.is_null() {
            base.remove(key);
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_patches_merge_like_the_model_or_fail_cleanly() {
    let client = connect(&api_db()).await;
    let started = postmaster_started(&client).await;
    let token = new_session(&client, None).await;
    let patch_sql = client
        .prepare("SELECT varel_session.session_set($1, $2::jsonb)")
        .await
        .unwrap();
    let data_sql = client
        .prepare("SELECT data FROM varel_session.session_get($1)")
        .await
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 5_000,
        failure_persistence: None,
        ..Config::default()
    });
    let model = RefCell::new(Map::new());
    let reset = client
        .prepare("SELECT varel_session.session_clear($1)")
        .await
        .unwrap();
    let cases = Cell::new(0u32);
    let (merges, refused) = (Cell::new(0), Cell::new(0));
    let handle = tokio::runtime::Handle::current();
    runner
        .run(&json_value(), |patch| {
            // Start from an empty session now and then, so the data stays small to compare.
            cases.set(cases.get() + 1);
            if cases.get().is_multiple_of(25) {
                tokio::task::block_in_place(|| handle.block_on(client.query(&reset, &[&token])))
                    .unwrap();
                model.borrow_mut().clear();
            }
            let result = tokio::task::block_in_place(|| {
                handle.block_on(client.query(&patch_sql, &[&token, &patch]))
            });
            check_clean(&result, "session_set(patch)");
            match (&result, &patch) {
                (Ok(_), Value::Object(object)) => {
                    let next = merged(model.borrow().clone(), object);
                    *model.borrow_mut() = next;
                    merges.set(merges.get() + 1);
                }
                (Ok(_), _) => prop_assert!(false, "a non-object patch was accepted: {}", patch),
                (Err(_), Value::Object(_)) => refused.set(refused.get() + 1), // size limits only
                (Err(e), _) => prop_assert_eq!(e.code().map(|c| c.code()), Some("22023")),
            }
            let data: Value = tokio::task::block_in_place(|| {
                handle.block_on(client.query_one(&data_sql, &[&token]))
            })
            .unwrap()
            .get(0);
            let expected = Value::Object(model.borrow().clone());
            prop_assert!(
                same_json(&data, &expected),
                "server {} vs model {}",
                data,
                expected
            );
            Ok(())
        })
        .unwrap();
    let (merges, refused) = (merges.get(), refused.get());
    eprintln!("patches: {merges} merged exactly like the model, {refused} refused cleanly");
    assert!(merges > 500);
    assert_eq!(
        postmaster_started(&client).await,
        started,
        "the server restarted"
    );
}

/// Bytes that are not UTF-8, sent as a `text` parameter.
#[derive(Debug)]
struct RawText(&'static [u8]);

impl ToSql for RawText {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TEXT
    }
    tokio_postgres::types::to_sql_checked!();
}

#[tokio::test]
async fn invalid_utf8_deep_json_and_nul_are_clean_errors() {
    let client = connect(&api_db()).await;
    let started = postmaster_started(&client).await;
    let token = new_session(&client, None).await;
    for bytes in [&b"\xff\xfe"[..], b"\xc3\x28", b"abc\x80", b"\xed\xa0\x80"] {
        let leaked: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
        for sql in [
            "SELECT varel_session.session_set($1::text, 'k', 'v')",
            "SELECT varel_session.session_set('x', $1::text, 'v')",
        ] {
            let result = client.query(sql, &[&RawText(leaked)]).await;
            check_clean(&result, "invalid UTF-8");
            assert_eq!(result.unwrap_err().code().unwrap().code(), "22021");
        }
    }
    // NUL cannot be in text: a clean error from the server, not from the extension.
    let result = client
        .query(
            "SELECT varel_session.session_set($1, $2, 'v')",
            &[&token, &"a\0b"],
        )
        .await;
    check_clean(&result, "NUL in a key");
    // Deep JSON: nested 100,000 levels. Refused by the server's stack check, cleanly.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let patch = format!(r#"{{"k": {deep}}}"#);
    let result = client
        .query(
            "SELECT varel_session.session_set($1, $2::text::jsonb)",
            &[&token, &patch],
        )
        .await;
    check_clean(&result, "deep JSON");
    // 1,000 levels is fine, and round-trips.
    let nested = "[".repeat(1000) + &"]".repeat(1000);
    let patch = format!(r#"{{"k": {nested}}}"#);
    let rows = client
        .query(
            "SELECT varel_session.session_set($1, $2::text::jsonb)",
            &[&token, &patch],
        )
        .await
        .unwrap();
    assert!(rows[0].get::<_, bool>(0));
    let back: String = client
        .query_one("SELECT varel_session.session_get($1, 'k')", &[&token])
        .await
        .unwrap()
        .get(0);
    assert_eq!(back.replace(' ', ""), nested);
    assert_eq!(
        postmaster_started(&client).await,
        started,
        "the server restarted"
    );
}
