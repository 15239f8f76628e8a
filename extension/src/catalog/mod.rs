//! Where the sessions table and its indexes are, and whether they are still what the C code was
//! written for.
//!
//! The per-request functions read and write the table without the executor, so everything the
//! executor would check is checked here instead, after the table is locked and on every call:
//!
//! - **memory safety**: the columns (names, types, NOT NULL), the primary-key and by-user
//!   indexes (key column, operator family, validity); a mismatch is an ERROR 55000 naming the
//!   object and what differs, never a wrong read;
//! - **rules an administrator declares** that a direct write would skip: triggers, foreign keys
//!   from or to the table, CHECK constraints, row-level security, rules, deferrable unique or
//!   exclusion indexes. Writers refuse while one exists (readers skip nothing, so they carry
//!   on). Publications are honoured: every update and delete runs the executor's own
//!   replica-identity check (`storage`).
//!
//! Checking from scratch costs a few catalog reads, so the verdict is kept until PostgreSQL
//! signals a change: a relcache invalidation of the table or one of its indexes (sent by every
//! DDL that touches them, and processed when the lock is taken) forgets it. So the per-call cost
//! is one flag test; the full check runs on the first call after a change.
//!
//! One concern per file; this one holds what the others share (the objects' names, the public
//! types, the 55000 error) and re-exports what callers use:
//!
//! - [`cache`]: finding the relations by name, the per-backend cache of what is known about
//!   them, its relcache invalidation callback, and the cached entry points [`verdict`] and
//!   [`check_by_user`], which run the checks below only after a change.
//! - [`layout`]: the columns ([`Layout`]) and the indexes: the checks that make a direct read
//!   memory-safe.
//! - [`rules`]: the rules a direct write would skip, and [`refuse_writes`].

mod cache;
mod layout;
mod rules;

pub use cache::{
    check_by_user, forget, register_invalidation_callback, session_relations, still_current,
    verdict,
};
pub use layout::{by_user_missing, Layout, ABSENT};
pub use rules::refuse_writes;

use crate::errors;
use pgrx::pg_sys::{self, Oid};
use pgrx::PgSqlErrorCode;
use std::ffi::CStr;

const SCHEMA: &CStr = c"varel_session";
const TABLE: &CStr = c"sessions";
const PRIMARY_KEY: &CStr = c"sessions_pkey";
const BY_USER: &CStr = c"sessions_user_id_idx";

/// OIDs of the sessions table and the indexes the functions search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRelations {
    pub table: Oid,
    /// Unique btree on `token_hash`: every per-request function finds its one row here.
    pub primary_key: Oid,
    /// Btree on `(user_id, created_at)`: used only by user-wide operations. `InvalidOid` when
    /// it does not exist; only those operations need it, and they refuse without it.
    pub by_user: Oid,
}

/// The verdict on the open table and primary key.
#[derive(Clone, Copy, Debug)]
pub struct Verdict {
    pub layout: Layout,
    /// Whether direct writes skip no rule an administrator declared.
    pub writes_allowed: bool,
    /// Set when the primary key was rebuilt over broken HOT chains (`indcheckxmin`): it may be
    /// used only by transactions whose snapshots are younger than this xmin, as the planner
    /// requires.
    pub primary_key_xmin: Option<pg_sys::TransactionId>,
}

/// 55000 with the fix in the hint: the objects are not what this library was written for.
fn refuse(message: impl Into<String>, hint: &str) -> ! {
    errors::raise_with_hint(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        message,
        hint,
    )
}

const REINSTALL_HINT: &str = "undo the change, or run ALTER EXTENSION varel_session UPDATE if \
     the library and the extension's SQL are of different versions";

const PRIMARY_KEY_HINT: &str = "restore the primary key: ALTER TABLE varel_session.sessions \
     ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash)";
