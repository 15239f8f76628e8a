//! Privileges, checked over real connections of login roles (not `SET ROLE`).

use varel_session_integration::{api_db, connect, connect_as, unique_name};

/// A login role without grants cannot reach the table or any function.
#[tokio::test]
async fn a_plain_role_cannot_read_the_table_or_call_the_api() {
    let admin = connect(&api_db()).await;
    let role = unique_name("plain");
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN"))
        .await
        .unwrap();
    let plain = connect_as(&api_db(), &role).await.unwrap();

    for sql in [
        "SELECT count(*) FROM varel_session.sessions",
        "SELECT varel_session.session_new()",
        "SELECT * FROM varel_session.session_get(repeat('a', 64))",
    ] {
        let err = plain.simple_query(sql).await.unwrap_err();
        let db_err = err.as_db_error().expect("a server error");
        assert_eq!(db_err.code().code(), "42501", "{sql}: {db_err}");
        assert!(
            db_err.message().contains("permission denied"),
            "{sql}: {db_err}"
        );
    }
    drop(plain);
    admin
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap();
}

/// The two documented GRANT lines give an application role the API, and still not the table.
#[tokio::test]
async fn the_documented_grants_give_the_api_but_not_the_table() {
    let admin = connect(&api_db()).await;
    let role = unique_name("app");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT USAGE ON SCHEMA varel_session TO {role};
             GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA varel_session TO {role};"
        ))
        .await
        .unwrap();
    let app = connect_as(&api_db(), &role).await.unwrap();

    let token: String = app
        .query_one("SELECT varel_session.session_new()", &[])
        .await
        .unwrap()
        .get(0);
    let set: bool = app
        .query_one("SELECT varel_session.session_set($1, 'k', 'v')", &[&token])
        .await
        .unwrap()
        .get(0);
    assert!(set);
    let err = app
        .simple_query("SELECT * FROM varel_session.sessions")
        .await
        .unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code().code(), "42501");

    let destroyed: bool = app
        .query_one("SELECT varel_session.session_destroy($1)", &[&token])
        .await
        .unwrap()
        .get(0);
    assert!(destroyed);
    drop(app);
    admin
        .batch_execute(&format!(
            "REVOKE ALL ON SCHEMA varel_session FROM {role};
             REVOKE ALL ON ALL FUNCTIONS IN SCHEMA varel_session FROM {role};
             DROP ROLE {role};"
        ))
        .await
        .unwrap();
}
