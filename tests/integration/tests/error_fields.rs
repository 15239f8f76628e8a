//! No token ever shows up in any field of an error the extension raises: message, detail,
//! hint, context, or anything else the server sends back.

use tokio_postgres::error::DbError;
use varel_session_integration::{connect, new_session, DB};

fn every_field(e: &DbError) -> String {
    [
        Some(e.message()),
        e.detail(),
        e.hint(),
        e.where_(),
        e.schema(),
        e.table(),
        e.column(),
        e.datatype(),
        e.constraint(),
        e.routine(),
        e.file(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

#[tokio::test]
async fn errors_never_contain_the_token() {
    let client = connect(DB).await;
    client
        .batch_execute("SET varel_session.max_data_bytes = '1kB'")
        .await
        .unwrap();
    let token = new_session(&client, Some(4242)).await;
    let big = "x".repeat(5000);
    let cases: Vec<(&str, Vec<&(dyn tokio_postgres::types::ToSql + Sync)>)> = vec![
        (
            "SELECT varel_session.session_set($1, NULL, 'v')",
            vec![&token],
        ),
        (
            "SELECT varel_session.session_set($1, 'k', NULL)",
            vec![&token],
        ),
        (
            "SELECT varel_session.session_set($1, '[1]'::jsonb)",
            vec![&token],
        ),
        (
            "SELECT varel_session.session_set($1, 'k', $2)",
            vec![&token, &big],
        ),
        ("SELECT varel_session.session_get($1, NULL)", vec![&token]),
        ("SELECT varel_session.session_unset($1, NULL)", vec![&token]),
        (
            "SELECT varel_session.session_set_user($1, NULL)",
            vec![&token],
        ),
        (
            "SELECT varel_session.session_revoke(NULL, $1)",
            vec![&token],
        ),
        (
            "SELECT varel_session.session_user_revoke(NULL, $1)",
            vec![&token],
        ),
        // An error raised by PostgreSQL itself inside the call (division by zero in an
        // argument) while the token is another argument.
        (
            "SELECT varel_session.session_set($1, 'k', (1 / 0)::text)",
            vec![&token],
        ),
    ];
    for (sql, params) in cases {
        let err = client.query(sql, &params).await.unwrap_err();
        let db = err
            .as_db_error()
            .unwrap_or_else(|| panic!("{sql}: not a server error: {err}"));
        let text = every_field(db).to_lowercase();
        assert!(
            !text.contains(&token),
            "{sql}: token in error fields:\n{text}"
        );
        assert!(
            !text.contains(&token[..16]),
            "{sql}: part of the token in error fields"
        );
        assert_ne!(db.code().code(), "XX000", "{sql}: internal error {db}");
    }
    let destroyed: bool = client
        .query_one("SELECT varel_session.session_destroy($1)", &[&token])
        .await
        .unwrap()
        .get(0);
    assert!(destroyed);
}
