//! Sharding with PL/Proxy (SCALING.md): a router and two shard nodes, node 0 with a synchronous
//! streaming standby, and a spare third node, started by `scripts/test.sh` on PostgreSQL 15
//! (`scripts/lib/sharded.sh`). The cluster has 4 partitions: p0 and p2 on node 0, p1 and p3 on
//! node 1. The tests run one at a time (`--test-threads 1`, in name order): the last one
//! (`zz_...`) stops a node, fails node 0 over to its standby and moves p3 to the third node.

use futures::future::join_all;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;
use varel_session_integration::{connect_with, env, pg_ctl, unique_user_id};

const PARTITIONS: u32 = 4;

fn port(name: &str) -> u16 {
    env(&format!("VAREL_SHARD_{name}_PORT"))
        .parse()
        .expect("a port")
}

async fn connect_port(port: u16) -> Result<Client, tokio_postgres::Error> {
    connect_with(
        tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(port)
            .user("postgres")
            .dbname("varel"),
    )
    .await
}

async fn router() -> Client {
    connect_port(port("ROUTER")).await.expect("the router")
}

async fn node(which: u32) -> Client {
    let name = ["NODE0", "NODE1", "NODE2"][which as usize];
    connect_port(port(name)).await.expect("a node")
}

/// The stored hash of a token (SHA-256 of its 32 bytes), or of a framework id (SHA-256 of a
/// fixed prefix and the id, extension/src/token.rs).
fn hash_of(token: &str) -> Vec<u8> {
    match hex::decode(token) {
        Ok(raw) if token.len() == 64 => Sha256::digest(raw).to_vec(),
        _ => Sha256::digest(format!("varel_session framework id:{token}")).to_vec(),
    }
}

/// The partition a token routes to: the first four bytes of its hash, masked.
fn partition_of(token: &str) -> u32 {
    let hash = hash_of(token);
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) & (PARTITIONS - 1)
}

/// The node a partition lives on before any move: p0, p2 on node 0, p1, p3 on node 1.
fn node_of(partition: u32) -> u32 {
    partition % 2
}

async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> T {
    client.query_one(sql, params).await.unwrap().get(0)
}

async fn new_session(router: &Client, data: &str) -> String {
    one(
        router,
        "SELECT varel_session.session_new(data => $1::text::jsonb)",
        &[&data],
    )
    .await
}

/// Whether `token` names a live session, asked through `router`.
async fn is_live(router: &Client, token: &str) -> bool {
    !router
        .query("SELECT * FROM varel_session.session_get($1)", &[&token])
        .await
        .unwrap()
        .is_empty()
}

/// Whether a session with this token's hash is stored on `node`.
async fn stored_on(node: &Client, token: &str) -> bool {
    let hash = hash_of(token);
    one::<i64>(
        node,
        "SELECT count(*) FROM varel_session.sessions WHERE token_hash = $1",
        &[&hash],
    )
    .await
        == 1
}

/// A new anonymous session through the router whose token routes to `partition`.
async fn session_on_partition(router: &Client, partition: u32, data: &str) -> String {
    loop {
        let token = new_session(router, data).await;
        if partition_of(&token) == partition {
            return token;
        }
        one::<bool>(
            router,
            "SELECT varel_session.session_destroy($1)",
            &[&token],
        )
        .await;
    }
}

/// The partition of a user's home, as the router computes it.
async fn home_of(router: &Client, user_id: i64) -> u32 {
    let home: i32 = one(router, "SELECT varel_session_router.home($1)", &[&user_id]).await;
    (home as u32) & (PARTITIONS - 1)
}

#[tokio::test]
async fn sessions_sit_on_the_node_their_route_names_and_spread_evenly() {
    let router = router().await;
    let calls = (0..2_000).map(|i| {
        let router = &router;
        async move { new_session(router, &format!("{{\"i\": {i}}}")).await }
    });
    let tokens: Vec<String> = join_all(calls).await;
    let mut by_node: HashMap<u32, Vec<Vec<u8>>> = HashMap::new();
    for token in &tokens {
        by_node
            .entry(node_of(partition_of(token)))
            .or_default()
            .push(hash_of(token));
    }
    for (which, hashes) in &by_node {
        let stored: i64 = one(
            &node(*which).await,
            "SELECT count(*) FROM varel_session.sessions WHERE token_hash = ANY($1)",
            &[hashes],
        )
        .await;
        assert_eq!(stored as usize, hashes.len(), "node {which}");
    }
    let share = by_node[&0].len() as f64 / tokens.len() as f64;
    assert!(
        (0.4..=0.6).contains(&share),
        "node 0 has {share:.3} of them"
    );
}

/// A session under a framework id lands on the node its id routes to, and every call through
/// the router finds it there.
#[tokio::test]
async fn an_adopted_framework_id_lives_on_the_node_its_id_routes_to() {
    let router = router().await;
    for n in 0..16 {
        let id = format!("YWRvcHRlZC10aHJvdWdoLXRoZS1yb3V0ZXIt{n:02}");
        let adopted: bool = one(
            &router,
            "SELECT varel_session.session_adopt($1, data => '{\"n\": 1}')",
            &[&id],
        )
        .await;
        assert!(adopted, "{id}");
        let home = node_of(partition_of(&id));
        assert!(
            stored_on(&node(home).await, &id).await,
            "{id} on node {home}"
        );
        assert!(
            !stored_on(&node(1 - home).await, &id).await,
            "{id} on node {}",
            1 - home
        );
        let n: i64 = one(
            &router,
            "SELECT varel_session.session_incr($1, 'n')",
            &[&id],
        )
        .await;
        assert_eq!(n, 2);
        let again: bool = one(&router, "SELECT varel_session.session_adopt($1)", &[&id]).await;
        assert!(!again, "{id} adopted twice");
        let destroyed: bool =
            one(&router, "SELECT varel_session.session_destroy($1)", &[&id]).await;
        assert!(destroyed);
    }
}

#[tokio::test]
async fn rotation_keeps_the_partition_the_data_and_the_handle() {
    let router = router().await;
    for partition in 0..PARTITIONS {
        let token = session_on_partition(&router, partition, r#"{"cart": 3}"#).await;
        let handle: String = one(
            &router,
            "SELECT varel_session.session_handle($1)",
            &[&token],
        )
        .await;
        let mut current = token.clone();
        for rotation in [
            "SELECT varel_session.session_regenerate($1)",
            "SELECT varel_session.session_clear_user($1)",
        ] {
            let next: String = one(&router, rotation, &[&current]).await;
            assert_eq!(partition_of(&next), partition, "{rotation}");
            assert!(
                !is_live(&router, &current).await,
                "the old token still works"
            );
            current = next;
        }
        let data: serde_json::Value = one(
            &router,
            "SELECT data FROM varel_session.session_get($1)",
            &[&current],
        )
        .await;
        assert_eq!(data, serde_json::json!({"cart": 3}));
        let kept: String = one(
            &router,
            "SELECT varel_session.session_handle($1)",
            &[&current],
        )
        .await;
        assert_eq!(kept, handle);
        assert!(stored_on(&node(node_of(partition)).await, &current).await);
    }
}

#[tokio::test]
async fn log_in_moves_the_session_to_its_users_home_and_the_cap_holds() {
    let router = router().await;
    let user = unique_user_id();
    let home = home_of(&router, user).await;

    // From every other partition: the session moves home with its data and handle.
    for partition in (0..PARTITIONS).filter(|p| *p != home) {
        let token = session_on_partition(&router, partition, r#"{"cart": 1}"#).await;
        let handle: String = one(
            &router,
            "SELECT varel_session.session_handle($1)",
            &[&token],
        )
        .await;
        let moved: String = one(
            &router,
            "SELECT varel_session.session_set_user($1, $2)",
            &[&token, &user],
        )
        .await;
        assert_eq!(partition_of(&moved), home);
        assert!(stored_on(&node(node_of(home)).await, &moved).await);
        assert!(!stored_on(&node(node_of(partition)).await, &token).await);
        let row = router
            .query_one(
                "SELECT data, user_id FROM varel_session.session_get($1)",
                &[&moved],
            )
            .await
            .unwrap();
        assert_eq!(
            row.get::<_, serde_json::Value>(0),
            serde_json::json!({"cart": 1})
        );
        assert_eq!(row.get::<_, Option<i64>>(1), Some(user));
        let kept: String = one(
            &router,
            "SELECT varel_session.session_handle($1)",
            &[&moved],
        )
        .await;
        assert_eq!(kept, handle);
        assert!(
            !is_live(&router, &token).await,
            "the pre-log-in token still works"
        );
    }
    assert_eq!(
        one::<i64>(
            &router,
            "SELECT count(*) FROM varel_session.session_user_sessions($1)",
            &[&user]
        )
        .await,
        (PARTITIONS - 1) as i64
    );
    one::<i64>(
        &router,
        "SELECT varel_session.session_user_revoke($1)",
        &[&user],
    )
    .await;
}

/// Sets (or, with `None`, resets) a varel_session setting for the database on both nodes; a
/// router connection opened afterwards gets it on its node connections.
async fn on_both_nodes(setting: &str, value: Option<&str>) {
    for which in 0..2 {
        let sql = match value {
            Some(value) => format!("ALTER DATABASE varel SET varel_session.{setting} = {value}"),
            None => format!("ALTER DATABASE varel RESET varel_session.{setting}"),
        };
        node(which).await.batch_execute(&sql).await.unwrap();
    }
}

#[tokio::test]
async fn a_log_in_moves_sealed_data_sealed_under_the_new_token() {
    // Sealing on both nodes (other tests running meanwhile see only that it is transparent).
    on_both_nodes("seal_data", Some("on")).await;
    let router = router().await;
    let user = unique_user_id();
    let home = home_of(&router, user).await;
    let partition = (home + 1) % PARTITIONS;
    let token = session_on_partition(&router, partition, r#"{"secret": "hunter2"}"#).await;
    let stored_as = |node: Client, token: String| async move {
        one::<String>(
            &node,
            "SELECT jsonb_typeof(data) FROM varel_session.sessions \
             WHERE token_hash = sha256(decode($1, 'hex'))",
            &[&token],
        )
        .await
    };
    assert_eq!(
        stored_as(node(node_of(partition)).await, token.clone()).await,
        "string"
    );
    let moved: String = one(
        &router,
        "SELECT varel_session.session_set_user($1, $2)",
        &[&token, &user],
    )
    .await;
    assert_eq!(partition_of(&moved), home);
    // The copy is sealed on the home node under its own token, and opens through the router.
    assert_eq!(
        stored_as(node(node_of(home)).await, moved.clone()).await,
        "string"
    );
    let data: serde_json::Value = one(
        &router,
        "SELECT data FROM varel_session.session_get($1)",
        &[&moved],
    )
    .await;
    assert_eq!(data, serde_json::json!({"secret": "hunter2"}));
    on_both_nodes("seal_data", None).await;
    one::<i64>(
        &router,
        "SELECT varel_session.session_user_revoke($1)",
        &[&user],
    )
    .await;
}

#[tokio::test]
async fn the_cap_holds_across_log_ins_from_every_partition() {
    on_both_nodes("max_data_bytes", None).await;
    for which in 0..2 {
        node(which)
            .await
            .batch_execute("ALTER DATABASE varel SET varel_session.max_sessions_per_user = 3")
            .await
            .unwrap();
    }
    // A new router connection: its connections to the nodes start with the setting.
    let router = router().await;
    let user = unique_user_id();
    let mut tokens = Vec::new();
    for partition in [0, 1, 2, 3, 1] {
        let token = session_on_partition(&router, partition, "{}").await;
        let logged_in: String = one(
            &router,
            "SELECT varel_session.session_set_user($1, $2)",
            &[&token, &user],
        )
        .await;
        tokens.push(logged_in);
    }
    let live: i64 = one(
        &router,
        "SELECT count(*) FROM varel_session.session_user_sessions($1)",
        &[&user],
    )
    .await;
    assert_eq!(live, 3, "the cap of 3 held over 5 log-ins");
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(
            is_live(&router, token).await,
            i >= 2,
            "log-in {i}: the newest three live"
        );
    }
    for which in 0..2 {
        node(which)
            .await
            .batch_execute("ALTER DATABASE varel RESET varel_session.max_sessions_per_user")
            .await
            .unwrap();
    }
    one::<i64>(
        &router,
        "SELECT varel_session.session_user_revoke($1)",
        &[&user],
    )
    .await;
}

#[tokio::test]
async fn concurrent_log_ins_of_one_token_give_exactly_one_token() {
    let routers = [router().await, router().await];
    for round in 0..16 {
        let user = unique_user_id();
        let home = home_of(&routers[0], user).await;
        // Half the rounds from home (an in-place log-in), half from elsewhere (a move).
        let partition = if round % 2 == 0 {
            home
        } else {
            (home + 1) % PARTITIONS
        };
        let token = session_on_partition(&routers[0], partition, "{}").await;
        let logins = routers.iter().map(|router| {
            let token = token.clone();
            async move {
                router
                    .query_one(
                        "SELECT varel_session.session_set_user($1, $2)",
                        &[&token, &user],
                    )
                    .await
                    .unwrap()
                    .get::<_, Option<String>>(0)
            }
        });
        let results: Vec<Option<String>> = join_all(logins).await;
        let winners: Vec<&String> = results.iter().flatten().collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let live: i64 = one(
            &routers[0],
            "SELECT count(*) FROM varel_session.session_user_sessions($1)",
            &[&user],
        )
        .await;
        assert_eq!(live, 1, "round {round}");
    }
}

#[tokio::test]
async fn a_move_that_fails_midway_leaves_no_session_with_more_rights() {
    // A failed earlier run may have left settings behind.
    on_both_nodes("max_data_bytes", None).await;
    on_both_nodes("max_sessions_per_user", None).await;
    let user = unique_user_id();
    let setup = router().await;
    let home = home_of(&setup, user).await;
    let home_node = node_of(home);
    // A session on the other node, so the move crosses nodes.
    let partition = (0..PARTITIONS).find(|p| node_of(*p) != home_node).unwrap();
    let token = session_on_partition(&setup, partition, r#"{"cart": "a long enough value"}"#).await;
    // The copy step on the user's home node fails: its data limit is below the session's data.
    node(home_node)
        .await
        .batch_execute("ALTER DATABASE varel SET varel_session.max_data_bytes = 16")
        .await
        .unwrap();
    // A new router connection: its connections to the nodes start with the setting.
    let router = router().await;
    let result = router
        .query_one(
            "SELECT varel_session.session_set_user($1, $2)",
            &[&token, &user],
        )
        .await;
    // Reset first, so that a failed assertion below leaves the other tests a sane node.
    on_both_nodes("max_data_bytes", None).await;
    let error = result.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("54000"), "{error}");
    assert!(!error.to_string().contains(&token));
    // The user has no session anywhere; the pre-log-in token no longer works (it was rotated
    // before the copy); nothing else holds the user's rights.
    let router = self::router().await;
    let live: i64 = one(
        &router,
        "SELECT count(*) FROM varel_session.session_user_sessions($1)",
        &[&user],
    )
    .await;
    assert_eq!(live, 0);
    for which in 0..2 {
        let with_user: i64 = one(
            &node(which).await,
            "SELECT count(*) FROM varel_session.sessions WHERE user_id = $1",
            &[&user],
        )
        .await;
        assert_eq!(with_user, 0, "node {which}");
    }
    assert!(
        !is_live(&router, &token).await,
        "the pre-log-in token still works"
    );
}

#[tokio::test]
async fn the_application_role_lives_a_session_through_the_router_with_its_grants_only() {
    let app = connect_with(
        tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(port("ROUTER"))
            .user("app")
            .dbname("varel"),
    )
    .await
    .expect("the router as the application's role");
    let user = unique_user_id();
    let token = new_session(&app, r#"{"cart": 1}"#).await;
    let rows = app
        .query("SELECT data FROM varel_session.session_load($1)", &[&token])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        one::<bool>(
            &app,
            "SELECT varel_session.session_set($1, 'k', 'v')",
            &[&token]
        )
        .await
    );
    let logged_in: String = one(
        &app,
        "SELECT varel_session.session_set_user($1, $2)",
        &[&token, &user],
    )
    .await;
    let listed: i64 = one(
        &app,
        "SELECT count(*) FROM varel_session.session_user_sessions($1)",
        &[&user],
    )
    .await;
    assert_eq!(listed, 1);
    let handle: String = one(
        &app,
        "SELECT varel_session.session_handle($1)",
        &[&logged_in],
    )
    .await;
    assert!(
        one::<bool>(
            &app,
            "SELECT varel_session.session_revoke($1, $2)",
            &[&user, &handle]
        )
        .await
    );
    assert_eq!(
        one::<i64>(
            &app,
            "SELECT varel_session.session_user_revoke($1)",
            &[&user]
        )
        .await,
        0
    );
    // The router's internals stay closed to it.
    let error = app
        .query(
            "SELECT varel_session_router.import(0, 4, 1, NULL, NULL, NULL, '{}', 1, now(), NULL, NULL)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("42501"), "{error}");
}

/// One call of the differential script, as text: its rows (columns joined by `|`), or its
/// error's SQLSTATE. `{t}` is the current token, `{p}` the one before the last rotation.
async fn step(client: &Client, sql: &str, token: &str, previous: &str) -> (String, Option<String>) {
    let sql = sql.replace("{t}", token).replace("{p}", previous);
    match client.simple_query(&sql).await {
        Ok(messages) => {
            let rows: Vec<String> = messages
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                            .collect::<Vec<_>>()
                            .join("|"),
                    ),
                    _ => None,
                })
                .collect();
            (rows.join("\n"), None)
        }
        Err(error) => {
            let db = error.as_db_error().expect("a server error");
            (
                format!("ERROR {}", db.code().code()),
                Some(db.message().to_owned()),
            )
        }
    }
}

/// Every function of the API, with good, bad, malformed, NULL and upper-case arguments, in the
/// order an application would call them. `ROTATE` steps return the next token.
const SCRIPT: &[&str] = &[
    "SELECT data, user_id FROM varel_session.session_get('{t}')",
    "SELECT varel_session.session_get('{t}', 'a')",
    "SELECT data FROM varel_session.session_load('{t}')",
    "SELECT data FROM varel_session.session_get(upper('{t}'))",
    "SELECT varel_session.session_set('{t}', '{\"b\": 2, \"s\": \"x\"}')",
    "SELECT varel_session.session_set('{t}', 'c', 'three')",
    "SELECT varel_session.session_unset('{t}', 'c')",
    "SELECT varel_session.session_incr('{t}', 'n'), varel_session.session_incr('{t}', 'n', 5)",
    "SELECT varel_session.session_incr('{t}', 's')",
    "SELECT varel_session.session_incr('{t}', 'big', 9223372036854775807)",
    "SELECT varel_session.session_incr('{t}', 'big')",
    "SELECT varel_session.session_take('{t}', 'b'), varel_session.session_take('{t}', 'b')",
    "SELECT varel_session.session_push('{t}', 'l', '1', 2), varel_session.session_push('{t}', 'l', '2', 2), varel_session.session_push('{t}', 'l', '3', 2)",
    "SELECT varel_session.session_push('{t}', 'l', '4', 0)",
    "SELECT varel_session.session_push('{t}', 's', '4')",
    "SELECT varel_session.session_set_if('{t}', 'a', '1', '10'), varel_session.session_set_if('{t}', 'a', '1', '11')",
    "SELECT varel_session.session_set_if('{t}', 'absent', NULL, '1')",
    "SELECT varel_session.session_touch('{t}') > now()",
    "SELECT varel_session.session_set_max_age('{t}', '2 hours') > now()",
    "SELECT varel_session.session_set_max_age('{t}', '-2 hours')",
    "SELECT varel_session.session_handle('{t}') ~ '^[0-9a-f]{16}$'",
    "SELECT varel_session.session_set_data('{t}', '[1]')",
    "SELECT varel_session.session_set('{t}', '[1]')",
    "SELECT varel_session.session_set_data('{t}', '{\"fresh\": true, \"l\": [0]}')",
    "SELECT data FROM varel_session.session_get('{t}')",
    "ROTATE SELECT varel_session.session_regenerate('{t}')",
    "SELECT count(*) FROM varel_session.session_get('{p}')",
    "SELECT data FROM varel_session.session_get('{t}')",
    "ROTATE SELECT varel_session.session_set_user('{t}', 777001, aal => 2::smallint, amr => '{pwd,otp}')",
    "SELECT data, user_id, aal, amr, authenticated_at IS NOT NULL FROM varel_session.session_get('{t}')",
    "SELECT varel_session.session_auth_recent('{t}', '5 minutes', 2::smallint), varel_session.session_auth_recent('{t}', '5 minutes', 3::smallint)",
    "ROTATE SELECT varel_session.session_reauthenticate('{t}', 3::smallint)",
    "SELECT aal, amr FROM varel_session.session_load('{t}')",
    "SELECT count(*) FROM varel_session.session_get('{p}')",
    "SELECT varel_session.session_reauthenticate('{t}', 4::smallint)",
    "SELECT count(*) FROM varel_session.session_get('{p}')",
    "SELECT count(*) FROM varel_session.session_user_sessions(777001)",
    "SELECT varel_session.session_revoke(777001, '0000000000000000')",
    "SELECT varel_session.session_set_user('{t}', NULL)",
    "ROTATE SELECT varel_session.session_clear_user('{t}')",
    "SELECT user_id, aal FROM varel_session.session_get('{t}')",
    "SELECT varel_session.session_reauthenticate('{t}')",
    "SELECT varel_session.session_user_revoke(777001)",
    "SELECT varel_session.session_destroy('{t}'), varel_session.session_destroy('{t}')",
    "SELECT count(*) FROM varel_session.session_load('{t}')",
    "SELECT varel_session.session_set('{t}', 'k', 'v'), varel_session.session_incr('{t}', 'n'), varel_session.session_take('{t}', 'n'), varel_session.session_push('{t}', 'l', '1'), varel_session.session_touch('{t}'), varel_session.session_regenerate('{t}'), varel_session.session_set_user('{t}', 1), varel_session.session_clear_user('{t}'), varel_session.session_handle('{t}')",
    "SELECT count(*) FROM varel_session.session_get('garbage')",
    "SELECT count(*) FROM varel_session.session_get(NULL)",
    "SELECT count(*) FROM varel_session.session_get('')",
    "SELECT varel_session.session_set('not a token', 'k', 'v'), varel_session.session_set(NULL, '{}'), varel_session.session_incr('zz', 'n'), varel_session.session_destroy(NULL), varel_session.session_set_user('x', 1), varel_session.session_regenerate(NULL)",
    "SELECT varel_session.session_new(max_age => '-1 hour')",
    "SELECT varel_session.session_new(data => '[1]')",
    "SELECT varel_session.session_new(user_id => 777002) ~ '^[0-9a-f]{64}$'",
    "SELECT varel_session.session_generate_id() ~ '^[0-9a-f]{64}$'",
    "SELECT varel_session.session_user_revoke(777002)",
    "SELECT varel_session.session_cleanup() >= 0",
];

#[tokio::test]
async fn the_api_through_the_router_answers_as_one_node_does() {
    let router = router().await;
    let one_node = varel_session_integration::connect(varel_session_integration::DB).await;
    let mut transcripts = Vec::new();
    for client in [&router, &one_node] {
        let mut token: String = one(
            client,
            "SELECT varel_session.session_new(data => '{\"a\": 1}')",
            &[],
        )
        .await;
        let mut previous = token.clone();
        let mut transcript = Vec::new();
        for sql in SCRIPT {
            let (result, message) = match sql.strip_prefix("ROTATE ") {
                Some(sql) => {
                    let (next, message) = step(client, sql, &token, &previous).await;
                    let shown = if next.len() == 64 {
                        "<token>".into()
                    } else {
                        next.clone()
                    };
                    if next.len() == 64 {
                        previous = std::mem::replace(&mut token, next);
                    }
                    (shown, message)
                }
                None => step(client, sql, &token, &previous).await,
            };
            transcript.push((sql.to_string(), result, message));
        }
        transcripts.push(transcript);
    }
    for ((sql, routed, routed_message), (_, direct, direct_message)) in
        transcripts[0].iter().zip(&transcripts[1])
    {
        assert_eq!(routed, direct, "{sql}");
        // A remote error keeps its SQLSTATE and its message, behind PL/Proxy's prefix.
        if let (Some(routed), Some(direct)) = (routed_message, direct_message) {
            assert!(
                routed.ends_with(direct.as_str()),
                "{sql}: {routed} / {direct}"
            );
        }
    }
    let errors = transcripts[0]
        .iter()
        .filter(|(_, r, _)| r.starts_with("ERROR"))
        .count();
    assert!(
        errors >= 8,
        "the script exercises the errors too ({errors})"
    );
}

/// The API's functions as a database has them: one line per function of schema
/// `varel_session`, with its kind, arguments (with defaults) and result.
async fn api_signatures(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT format('%s %s(%s) -> %s', p.prokind, p.proname,
                           pg_get_function_arguments(p.oid),
                           coalesce(pg_get_function_result(p.oid), 'none'))
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'varel_session'
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The attributes of `varel_session.session_row`, with their types, in order.
async fn session_row_attributes(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a
             WHERE a.attrelid = 'varel_session.session_row'::regclass
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The functions sharding/router.sql declares node-only (`-- node-only: NAME (why)`).
fn declared_node_only() -> Vec<String> {
    include_str!("../../../sharding/router.sql")
        .lines()
        .filter_map(|line| line.strip_prefix("-- node-only: "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// sharding/router.sql is a hand-kept copy of a node's API: every function of the API is on
/// the router with the same arguments, defaults and result, except the ones it declares
/// node-only, and session_row (defined in both) has the same attributes.
#[tokio::test]
async fn the_router_has_the_nodes_api_but_the_declared_node_only_functions() {
    let router = router().await;
    let node = node(0).await;
    let node_only = declared_node_only();
    assert!(
        !node_only.is_empty(),
        "router.sql declares its node-only functions"
    );
    let name_of = |signature: &String| signature.split([' ', '(']).nth(1).unwrap().to_owned();
    let node_api: Vec<String> = api_signatures(&node).await;
    for name in &node_only {
        assert!(
            node_api.iter().any(|s| &name_of(s) == name),
            "{name} is declared node-only but is not a function of a node's API"
        );
    }
    let expected: Vec<String> = node_api
        .into_iter()
        .filter(|s| !node_only.contains(&name_of(s)))
        .collect();
    let routed = api_signatures(&router).await;
    let missing: Vec<_> = expected.iter().filter(|s| !routed.contains(s)).collect();
    let extra: Vec<_> = routed.iter().filter(|s| !expected.contains(s)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the router's API differs from a node's: missing or different on the router {missing:#?}, \
         only on the router {extra:#?}"
    );
    assert_eq!(
        session_row_attributes(&router).await,
        session_row_attributes(&node).await,
        "session_row on the router and on a node"
    );
}

// ------------------------------------------------------------------------------------------
// The destructive ones, in order: a stopped shard, a failover, a partition moved under load.

/// Runs `sql` through `router`, retrying once: after a node restarts or fails over, a router
/// connection's cached connection to it fails one call (SCALING.md, "Failures").
async fn at_most_one_error(
    router: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Vec<tokio_postgres::Row> {
    match router.query(sql, params).await {
        Ok(rows) => rows,
        Err(_) => router.query(sql, params).await.expect("a second try"),
    }
}

#[tokio::test]
async fn zz_stopped_shard_then_failover_then_a_partition_moved_under_load() {
    a_stopped_shard_loses_nothing_and_the_other_keeps_working().await;
    a_failover_to_the_standby_loses_nothing().await;
    moving_a_partition_under_load_loses_nothing().await;
}

async fn a_stopped_shard_loses_nothing_and_the_other_keeps_working() {
    let router = router().await;
    let mut acknowledged = Vec::new();
    for partition in 0..PARTITIONS {
        for i in 0..10 {
            let token = session_on_partition(&router, partition, &format!(r#"{{"i": {i}}}"#)).await;
            assert!(
                one::<bool>(
                    &router,
                    "SELECT varel_session.session_set($1, 'k', 'v')",
                    &[&token]
                )
                .await
            );
            acknowledged.push(token);
        }
    }
    let node1_data = env("VAREL_SHARD_NODE1_DATA");
    pg_ctl(&node1_data, &["-m", "immediate", "stop"]);

    let router = self::router().await;
    for token in &acknowledged {
        let result = router
            .query("SELECT data FROM varel_session.session_get($1)", &[token])
            .await;
        match node_of(partition_of(token)) {
            0 => assert_eq!(result.unwrap().len(), 1),
            _ => {
                let error = result.unwrap_err();
                assert!(!error.to_string().contains(token.as_str()), "{error}");
                let db = error.as_db_error().expect("an error from the router");
                assert!(!db.message().contains(token.as_str()));
                assert!(!db.detail().unwrap_or("").contains(token.as_str()));
            }
        }
    }
    // New visitors still get sessions, all on the node that is up.
    for _ in 0..20 {
        let token = new_session(&router, "{}").await;
        assert_eq!(node_of(partition_of(&token)), 0);
    }

    pg_ctl(
        &node1_data,
        &[
            "-w",
            "-t",
            "60",
            "-l",
            &format!("{node1_data}/../server.log"),
            "start",
        ],
    );
    let router = self::router().await;
    for token in &acknowledged {
        let rows = at_most_one_error(
            &router,
            "SELECT data->>'k' FROM varel_session.session_get($1)",
            &[token],
        )
        .await;
        assert_eq!(
            rows.len(),
            1,
            "a session acknowledged before the stop is gone"
        );
        assert_eq!(rows[0].get::<_, Option<String>>(0).as_deref(), Some("v"));
    }
}

async fn a_failover_to_the_standby_loses_nothing() {
    let router = router().await;
    let mut acknowledged = Vec::new();
    for partition in [0, 2] {
        for i in 0..20i64 {
            let token = session_on_partition(&router, partition, "{}").await;
            let ok: bool = one(
                &router,
                "SELECT varel_session.session_set($1, jsonb_build_object('v', $2::bigint))",
                &[&token, &i],
            )
            .await;
            assert!(ok);
            acknowledged.push((token, i));
        }
    }
    pg_ctl(&env("VAREL_SHARD_NODE0_DATA"), &["-m", "immediate", "stop"]);
    pg_ctl(
        &env("VAREL_SHARD_STANDBY_DATA"),
        &["-w", "-t", "60", "promote"],
    );

    // The router connection from before the failure: at most one error, then the new primary.
    for (token, i) in &acknowledged {
        let rows = at_most_one_error(
            &router,
            "SELECT (data->>'v')::bigint FROM varel_session.session_get($1)",
            &[token],
        )
        .await;
        assert_eq!(
            rows.len(),
            1,
            "an acknowledged session was lost in the failover"
        );
        assert_eq!(rows[0].get::<_, Option<i64>>(0), Some(*i));
    }
    let token = session_on_partition(&router, 0, "{}").await;
    assert!(
        one::<bool>(
            &router,
            "SELECT varel_session.session_set($1, 'after', 'failover')",
            &[&token]
        )
        .await
    );
}

async fn moving_a_partition_under_load_loses_nothing() {
    let setup = router().await;
    // Sessions on every partition, each written by one writer only, so the last acknowledged
    // value of each is what the store must hold.
    let mut tokens = Vec::new();
    for partition in 0..PARTITIONS {
        for _ in 0..12 {
            tokens.push(session_on_partition(&setup, partition, "{}").await);
        }
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers = tokens.chunks(12).enumerate().map(|(i, mine)| {
        let (mine, stop) = (mine.to_vec(), stop.clone());
        tokio::spawn(async move {
            // Half the writers go through a second router database, each holding a router
            // transaction open across two calls: a router backend inside a transaction keeps
            // the cluster definition it started with, which the switch must wait out.
            let second = i % 2 == 1;
            let router = if second {
                connect_with(
                    tokio_postgres::Config::new()
                        .host("127.0.0.1")
                        .port(port("ROUTER"))
                        .user("postgres")
                        .dbname("varel_b"),
                )
                .await
                .expect("the second router")
            } else {
                router().await
            };
            let mut last: HashMap<String, i64> = HashMap::new();
            let mut refused = 0u64;
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if second {
                    router.batch_execute("BEGIN").await.unwrap();
                }
                for token in &mine {
                    n += 1;
                    let written = router
                        .query_one(
                            "SELECT varel_session.session_set($1, jsonb_build_object('w', $2::bigint))",
                            &[token, &n],
                        )
                        .await;
                    if second && written.is_err() {
                        // The router transaction is aborted: start another one.
                        router.batch_execute("ROLLBACK; BEGIN").await.unwrap();
                    }
                    match written {
                        Ok(row) => {
                            assert!(row.get::<_, bool>(0), "a live session was not found");
                            last.insert(token.clone(), n);
                        }
                        Err(error) => {
                            // The documented error of the switch: the partition is fenced.
                            assert_eq!(error.code().map(|c| c.code()), Some("XX000"), "{error}");
                            refused += 1;
                        }
                    }
                    if second {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                if second {
                    router.batch_execute("COMMIT").await.unwrap();
                }
            }
            (last, refused)
        })
    });
    let writers: Vec<_> = writers.collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let source = format!("host=127.0.0.1 port={} dbname=varel", port("NODE1"));
    let target = format!("host=127.0.0.1 port={} dbname=varel", port("NODE2"));
    let router_url = format!("host=127.0.0.1 port={} dbname=varel", port("ROUTER"));
    let second_router_url = format!("host=127.0.0.1 port={} dbname=varel_b", port("ROUTER"));
    let script = format!("{}/sharding/move_partition.sh", env("VAREL_REPO_ROOT"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&script)
            .args(["3", &source, &target, &router_url, &second_router_url])
            .env("PGUSER", "postgres")
            .output()
            .expect("run move_partition.sh")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "move_partition.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let mut acknowledged = HashMap::new();
    let mut refused = 0;
    for writer in writers {
        let (last, errors) = writer.await.unwrap();
        acknowledged.extend(last);
        refused += errors;
    }
    let (node1, node2) = (node(1).await, node(2).await);
    let left_behind: i64 = one(
        &node1,
        "SELECT count(*) FROM varel_session.sessions WHERE get_byte(token_hash, 3) & 3 = 3",
        &[],
    )
    .await;
    assert_eq!(left_behind, 0, "partition 3 rows left on the old node");
    let check = router().await;
    for token in &tokens {
        let expected = acknowledged.get(token).copied();
        let stored: Option<i64> = check
            .query_one(
                "SELECT (data->>'w')::bigint FROM varel_session.session_get($1)",
                &[token],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, expected, "the last acknowledged write of a session");
        if partition_of(token) == 3 {
            assert!(
                stored_on(&node2, token).await,
                "a moved session is not on the new node"
            );
        }
    }
    eprintln!(
        "{} sessions written under load; {refused} calls refused during the switch",
        tokens.len()
    );
}
