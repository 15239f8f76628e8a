//! tower-sessions' own integration tests (the `route_tests!` cases of its
//! `tests/common/mod.rs`, copied at build time from the tower-sessions crate this crate's tests
//! depend on, unchanged: build.rs), run against `VarelStore` exactly as tower-sessions runs
//! them against its own stores (its tests/integration-tests.rs).

mod support;

#[macro_use]
mod common {
    include!(concat!(env!("OUT_DIR"), "/route_tests.rs"));
}

mod varel_store_tests {
    use crate::common::build_app;
    use crate::support;
    use axum::Router;
    use tower_sessions::SessionManagerLayer;
    use varel_session_tower_sessions::VarelStore;

    // `Duration` is time's, imported by the macro, as in tower-sessions' own tests.
    async fn app(max_age: Option<Duration>, domain: Option<String>) -> Router {
        let store = VarelStore::new(support::pool());
        let session_manager = SessionManagerLayer::new(store).with_secure(true);
        build_app(session_manager, max_age, domain)
    }

    route_tests!(app);
}
