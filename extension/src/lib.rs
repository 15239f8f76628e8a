//! varel_session: web-application sessions kept inside PostgreSQL.
//!
//! This file only wires modules together and loads the SQL that defines the extension's objects.
//! The layout, one concern per file:
//!
//! - [`gucs`]: the `varel_session.*` settings.
//! - [`token`]: session tokens (generation, parsing, hashing); pure Rust.
//! - [`routing`]: token routes for sharding with PL/Proxy, and the route each minted token takes.
//! - [`errors`]: raising ERRORs; the programmer-mistake ones with their specific SQLSTATEs.
//! - [`catalog`]: where the table and its indexes are, and whether direct access to them is safe.
//! - [`fmgr`]: the function-call interface of the SQL-facing functions (`sql_function!`, `Call`).
//! - [`pg_compat`]: what differs between PostgreSQL 15, 16, 17 and 18.
//! - [`row`]: one sessions-table row as datums, with typed accessors.
//! - [`deadlines`]: the server's clock, interval arithmetic, idle and absolute deadlines.
//! - [`snapshot`]: the snapshots reads and writes use.
//! - [`seal`]: sealed data, encrypted under a key derived from the session's token.
//! - [`storage`]: direct reads and writes of single rows through the table access method.
//! - [`jsonb`]: the operations on session data: get, set, remove, merge, numbers, bounded lists.
//! - [`auth_context`]: a log-in's time, assurance level and methods, and the deadlines per level.
//! - [`users`]: per-user serialisation and the sessions-per-user cap.
//! - [`events`]: the opt-in NOTIFY of session events.
//! - [`api`]: the SQL-facing functions.

// The crate has no public Rust API (it is a cdylib PostgreSQL loads): its rustdoc is for the
// people who change it, built with --document-private-items (`make test` denies broken links).
#![allow(rustdoc::private_intra_doc_links)]

use pgrx::prelude::*;

mod api;
mod auth_context;
mod catalog;
mod deadlines;
mod errors;
mod events;
mod fmgr;
mod gucs;
mod jsonb;
mod pg_compat;
mod routing;
mod row;
mod seal;
mod snapshot;
mod storage;
mod token;
mod users;

::pgrx::pg_module_magic!(name, version);

// The whole extension script is hand-written SQL, one file per concern, so that every object's
// definition (security, volatility, grants) is visible in one place and reviewable by pgspot.
extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!(
    "../sql/lifecycle.sql",
    name = "lifecycle",
    requires = ["schema"]
);
extension_sql_file!("../sql/users.sql", name = "users", requires = ["lifecycle"]);
extension_sql_file!(
    "../sql/import.sql",
    name = "import",
    requires = ["lifecycle"]
);
extension_sql_file!(
    "../sql/cleanup.sql",
    name = "cleanup",
    requires = ["lifecycle"]
);
extension_sql_file!("../sql/csrf.sql", name = "csrf", requires = ["lifecycle"]);
extension_sql_file!("../sql/idp.sql", name = "idp", requires = ["lifecycle"]);
extension_sql_file!("../sql/admin.sql", name = "admin", requires = ["cleanup"]);
extension_sql_file!("../sql/stats.sql", name = "stats", requires = ["schema"]);
extension_sql_file!("../sql/cron.sql", name = "cron", requires = ["cleanup"]);
extension_sql_file!("../sql/privileges.sql", name = "privileges", finalize);

// A function that writes a session and then panics, to prove a panic becomes a clean ERROR
// that rolls the write back (src/api/panic_probe.rs). Only in test builds.
#[cfg(any(test, feature = "pg_test"))]
extension_sql!(
    r#"
CREATE FUNCTION varel_session.test_write_then_panic() RETURNS void
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'varel_session_test_write_then_panic';
"#,
    name = "panic_probe",
    requires = ["lifecycle"]
);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::register();
    catalog::register_invalidation_callback();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
