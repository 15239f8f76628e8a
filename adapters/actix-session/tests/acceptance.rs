//! actix-session's own store acceptance suite (`test_helpers::acceptance_test_suite`, copied at
//! build time from the actix-session crate this crate depends on, imports adapted: build.rs),
//! run against `VarelSessionStore` as actix-session runs it against its own stores, with
//! invalidation supported (a logged-out key stays dead).

mod support;

include!(concat!(env!("OUT_DIR"), "/acceptance_tests.rs"));

use varel_session_actix::VarelSessionStore;

#[actix_web::test]
async fn actix_sessions_acceptance_suite() {
    test_helpers::acceptance_test_suite(|| VarelSessionStore::new(support::pool()), true).await;
}
