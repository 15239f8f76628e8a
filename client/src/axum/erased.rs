//! The store behind a [`CurrentSession`](super::CurrentSession), with its type erased, so that
//! handlers take one `CurrentSession` type whatever store the layer was given (the
//! [`PostgresStore`](crate::PostgresStore) in production, a [`MemoryStore`](crate::MemoryStore)
//! in tests).

use crate::error::Error;
use crate::session::Session;
use crate::store::SessionStore;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operations a handler's session handle performs itself (the layer calls the rest).
pub(crate) trait ErasedStore: Send + Sync {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, Error>>;
    fn incr<'a>(
        &'a self,
        id: &'a str,
        key: &'a str,
        by: i64,
    ) -> BoxFuture<'a, Result<Option<i64>, Error>>;
    fn take<'a>(&'a self, id: &'a str, key: &'a str)
        -> BoxFuture<'a, Result<Option<Value>, Error>>;
    fn push<'a>(
        &'a self,
        id: &'a str,
        key: &'a str,
        value: &'a Value,
        max_items: Option<i32>,
    ) -> BoxFuture<'a, Result<Option<i32>, Error>>;
}

// For any store; only a `'static` one becomes the `Arc<dyn ErasedStore>` (a `'static` trait
// object) that `CurrentSession` holds, which is why the layer asks `'static`.
impl<S: SessionStore> ErasedStore for S {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, Error>> {
        Box::pin(SessionStore::load(self, id))
    }

    fn incr<'a>(
        &'a self,
        id: &'a str,
        key: &'a str,
        by: i64,
    ) -> BoxFuture<'a, Result<Option<i64>, Error>> {
        Box::pin(SessionStore::incr(self, id, key, by))
    }

    fn take<'a>(
        &'a self,
        id: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>, Error>> {
        Box::pin(SessionStore::take(self, id, key))
    }

    fn push<'a>(
        &'a self,
        id: &'a str,
        key: &'a str,
        value: &'a Value,
        max_items: Option<i32>,
    ) -> BoxFuture<'a, Result<Option<i32>, Error>> {
        Box::pin(SessionStore::push(self, id, key, value, max_items))
    }
}
