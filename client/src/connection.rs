//! What the store runs its statements on.

use crate::sql::Sql;
use std::future::Future;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

/// A connection the store can run on, through [`PostgresStore::on`](crate::PostgresStore::on): a
/// pooled `deadpool_postgres::Client`, or a `deadpool_postgres::Transaction` on one (so session
/// writes can join the application's own transaction).
///
/// With prepared statements (the default), each statement is prepared once per connection
/// through deadpool's statement cache and then runs in one round trip. Without them, each call
/// sends parse, bind and execute together as one unnamed statement, still one round trip, which
/// is what poolers in transaction mode need.
pub trait Connection: Send + Sync {
    #[doc(hidden)]
    fn run(
        &self,
        sql: &Sql,
        params: &[&(dyn ToSql + Sync)],
        prepared: bool,
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;
}

macro_rules! connection {
    ($ty:ty) => {
        impl Connection for $ty {
            async fn run(
                &self,
                sql: &Sql,
                params: &[&(dyn ToSql + Sync)],
                prepared: bool,
            ) -> Result<Vec<Row>, Error> {
                if prepared {
                    let statement = self.prepare_cached(sql.text).await?;
                    self.query(&statement, params).await
                } else {
                    let typed: Vec<(&(dyn ToSql + Sync), tokio_postgres::types::Type)> = params
                        .iter()
                        .copied()
                        .zip(sql.types.iter().cloned())
                        .collect();
                    self.query_typed(sql.text, &typed).await
                }
            }
        }
    };
}

connection!(deadpool_postgres::Client);
connection!(deadpool_postgres::Transaction<'_>);
