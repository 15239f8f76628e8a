//! Moving a database to a new server with pg_dump and pg_restore logs nobody out: the sessions
//! table is an extension configuration table (`pg_extension_config_dump`), so its rows (hashes,
//! never tokens) travel with the dump, and the old tokens work in the restored database.

use varel_session_integration::{
    all_sessions, connect, env, expire_now, run_pg_program, unique_name, ScratchDb,
};

#[tokio::test]
async fn dump_and_restore_keep_every_session() {
    let source = ScratchDb::create().await;
    let client = source.connect().await;
    // Sessions of every kind: anonymous with data, logged in, several of one user, one with a
    // short lifetime, one already expired.
    let mut tokens = Vec::new();
    for (user, data) in [
        (None, r#"{"cart": [1, 2]}"#),
        (Some(71i64), r#"{"theme": "dark"}"#),
        (Some(71), "{}"),
        (Some(72), r#"{"big": "x"}"#),
    ] {
        let token: String = client
            .query_one(
                "SELECT varel_session.session_new(user_id => $1, data => $2::text::jsonb, ip => '192.0.2.9')",
                &[&user, &data],
            )
            .await
            .unwrap()
            .get(0);
        tokens.push(token);
    }
    let expired: String = client
        .query_one(
            "SELECT varel_session.session_new(max_age => '1 second')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    expire_now(&client, &expired).await;
    let before = all_sessions(&client).await;

    let dump = std::env::temp_dir().join(format!("{}.dump", unique_name("varel")));
    let dump = dump.to_str().unwrap();
    let host = env("VAREL_TEST_HOST");
    let port = env("VAREL_TEST_PORT");
    let common = ["-h", &host, "-p", &port, "-U", "postgres"];
    run_pg_program(
        "pg_dump",
        &[&common[..], &["-Fc", "-f", dump, &source.name]].concat(),
    );
    let target = unique_name("restored");
    let admin = connect("postgres").await;
    admin
        .batch_execute(&format!("CREATE DATABASE {target} TEMPLATE template0"))
        .await
        .unwrap();
    run_pg_program(
        "pg_restore",
        &[&common[..], &["-d", &target, "--exit-on-error", dump]].concat(),
    );
    std::fs::remove_file(dump).unwrap();

    let restored = connect(&target).await;
    assert_eq!(
        all_sessions(&restored).await,
        before,
        "the rows differ after the restore"
    );
    for (i, token) in tokens.iter().enumerate() {
        let found = restored
            .query("SELECT data FROM varel_session.session_get($1)", &[token])
            .await
            .unwrap();
        assert_eq!(
            found.len(),
            1,
            "session {i} does not work after the restore"
        );
    }
    let gone = restored
        .query("SELECT 1 FROM varel_session.session_get($1)", &[&expired])
        .await
        .unwrap();
    assert!(gone.is_empty(), "the expired session came back to life");
    // The restored database works as a whole: log-ins, listing, writes.
    let listed: i64 = restored
        .query_one(
            "SELECT count(*) FROM varel_session.session_user_sessions(71)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 2);
    let written: bool = restored
        .query_one(
            "SELECT varel_session.session_set($1, 'after', 'restore')",
            &[&tokens[0]],
        )
        .await
        .unwrap()
        .get(0);
    assert!(written);
    let rotated: Option<String> = restored
        .query_one(
            "SELECT varel_session.session_set_user($1, 73)",
            &[&tokens[0]],
        )
        .await
        .unwrap()
        .get(0);
    assert!(rotated.is_some());

    drop(restored);
    admin
        .batch_execute(&format!("DROP DATABASE {target} WITH (FORCE)"))
        .await
        .unwrap();
    drop(client);
    source.drop_now().await;
}
