//! Where the sessions table and its indexes are, found once per backend.
//!
//! The hot-path functions open the table by OID instead of by name: no name is resolved, so no
//! `search_path` can redirect them (see `sql/lifecycle.sql` for why that matters). A relcache
//! invalidation callback forgets the OIDs when the table or its indexes change or disappear
//! (`DROP EXTENSION`, `ALTER EXTENSION ... UPDATE`), so the next call looks them up again.

use crate::errors;
use crate::row::COLUMNS;
use pgrx::pg_sys::{self, Oid};
use pgrx::PgSqlErrorCode;
use std::cell::Cell;
use std::ffi::CStr;

const SCHEMA: &CStr = c"varel_session";
const TABLE: &CStr = c"sessions";
const PRIMARY_KEY: &CStr = c"sessions_pkey";
const BY_USER: &CStr = c"sessions_user_id_idx";

/// OIDs of the sessions table and the indexes the functions search.
#[derive(Clone, Copy, Debug)]
pub struct SessionRelations {
    pub table: Oid,
    /// Unique btree on `token_hash`: every per-request function finds its one row here.
    pub primary_key: Oid,
    /// Partial btree on `(user_id, created_at)`: used only by user-wide operations.
    pub by_user: Oid,
}

thread_local! {
    static CACHED: Cell<Option<SessionRelations>> = const { Cell::new(None) };
}

/// The sessions relations, looked up and checked on first use in this backend.
pub fn session_relations() -> SessionRelations {
    if let Some(found) = CACHED.get() {
        return found;
    }
    // SAFETY: catalog lookups by name on the backend's main thread, inside a transaction.
    let found = unsafe { look_up() };
    CACHED.set(Some(found));
    found
}

unsafe fn look_up() -> SessionRelations {
    let not_installed = || -> ! {
        errors::raise_with_hint(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the varel_session extension is not installed in this database",
            "run CREATE EXTENSION varel_session",
        )
    };
    let namespace = unsafe { pg_sys::get_namespace_oid(SCHEMA.as_ptr(), true) };
    if namespace == pg_sys::InvalidOid {
        not_installed();
    }
    let find = |name: &CStr| unsafe { pg_sys::get_relname_relid(name.as_ptr(), namespace) };
    let found = SessionRelations {
        table: find(TABLE),
        primary_key: find(PRIMARY_KEY),
        by_user: find(BY_USER),
    };
    if [found.table, found.primary_key, found.by_user].contains(&pg_sys::InvalidOid) {
        not_installed();
    }
    unsafe { check_layout(found.table) };
    found
}

/// The Rust code addresses columns by position; refuse to run against a table whose columns
/// are not the ones it was built for (a library and a script of different versions).
unsafe fn check_layout(table: Oid) {
    unsafe {
        let rel = pg_sys::relation_open(table, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let desc = (*rel).rd_att;
        let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
        let matches = attrs.len() == COLUMNS.len()
            && COLUMNS.iter().zip(attrs).all(|((col, type_oid), attr)| {
                let name = CStr::from_ptr(attr.attname.data.as_ptr());
                !attr.attisdropped && name == col.name() && attr.atttypid == *type_oid
            });
        pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        if !matches {
            errors::raise_with_hint(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "varel_session.sessions does not have the columns this library expects",
                "run ALTER EXTENSION varel_session UPDATE, or reinstall the extension's files",
            );
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn forget_on_invalidation(_arg: pg_sys::Datum, relid: Oid) {
    if let Some(cached) = CACHED.get() {
        let ours = [cached.table, cached.primary_key, cached.by_user];
        if relid == pg_sys::InvalidOid || ours.contains(&relid) {
            CACHED.set(None);
        }
    }
}

/// Called once per backend from `_PG_init`.
pub fn register_invalidation_callback() {
    // SAFETY: registering a callback is allowed at library load; the function lives forever.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(forget_on_invalidation),
            pg_sys::Datum::from(0usize),
        )
    };
}
