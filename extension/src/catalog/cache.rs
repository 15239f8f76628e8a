//! What this backend knows about the sessions relations, and when it forgets it.
//!
//! The relations are looked up by name once ([`session_relations`]); the verdict on them
//! ([`verdict`], made by `layout`) and whether the by-user index passed ([`check_by_user`]) are
//! kept with them until a relcache invalidation of one of them arrives
//! (`forget_on_invalidation`, registered from `_PG_init`). The checks themselves are in
//! `layout` and `rules`; this file decides when they run again.

use super::layout::{self, Layout};
use super::{
    refuse, SessionRelations, Verdict, BY_USER, PRIMARY_KEY, PRIMARY_KEY_HINT, SCHEMA, TABLE,
};
use crate::errors;
use pgrx::pg_sys::{self, Oid, Relation};
use pgrx::PgSqlErrorCode;
use std::cell::Cell;
use std::ffi::CStr;

#[derive(Clone, Copy)]
struct Known {
    relations: SessionRelations,
    verdict: Option<Verdict>,
    by_user_checked: bool,
}

thread_local! {
    static KNOWN: Cell<Option<Known>> = const { Cell::new(None) };
    /// Counts relcache invalidations this backend processed. A check records it before reading
    /// the catalogs and caches its verdict only if it has not moved: the check's own catalog
    /// lookups may process an invalidation, and a verdict made partly before it must not be
    /// kept as current.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// The sessions relations, looked up by name when not known (first use, or after a change).
/// Takes no lock: the caller locks the table and then asks [`still_current`].
pub fn session_relations() -> SessionRelations {
    if let Some(known) = KNOWN.get() {
        return known.relations;
    }
    // SAFETY: catalog lookups by name, inside a transaction, on the backend's main thread.
    let relations = unsafe { look_up() };
    KNOWN.set(Some(Known {
        relations,
        verdict: None,
        by_user_checked: false,
    }));
    relations
}

/// Whether `relations` are still what is known, i.e. no invalidation arrived while the caller
/// was taking its locks. If not, the caller closes what it opened and asks again.
pub fn still_current(relations: SessionRelations) -> bool {
    KNOWN.get().is_some_and(|k| k.relations == relations)
}

/// Forgets everything, so the next call looks the relations up again.
pub fn forget() {
    KNOWN.set(None);
}

unsafe fn look_up() -> SessionRelations {
    // SAFETY: plain catalog lookups by name.
    let namespace = unsafe { pg_sys::get_namespace_oid(SCHEMA.as_ptr(), true) };
    if namespace == pg_sys::InvalidOid {
        not_installed();
    }
    // SAFETY: as above.
    let find = |name: &CStr| unsafe { pg_sys::get_relname_relid(name.as_ptr(), namespace) };
    let relations = SessionRelations {
        table: find(TABLE),
        primary_key: find(PRIMARY_KEY),
        by_user: find(BY_USER),
    };
    if relations.table == pg_sys::InvalidOid {
        not_installed();
    }
    if relations.primary_key == pg_sys::InvalidOid {
        refuse(
            "varel_session.sessions has no index named sessions_pkey",
            PRIMARY_KEY_HINT,
        );
    }
    relations
}

fn not_installed() -> ! {
    errors::raise_with_hint(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        "the varel_session extension is not installed in this database",
        "run CREATE EXTENSION varel_session",
    )
}

/// The verdict on the table and primary key of `relations`, both open and locked by the
/// caller; checks them first when nothing is known since the last change. Raises 55000 when
/// reading them would be unsafe.
///
/// Opening the relations may itself have processed invalidations (catalog reads take locks),
/// so what is known may have been forgotten since `relations` was looked up; the caller's locks
/// keep the relations themselves in place, so the verdict is then simply made again.
///
/// # Safety
/// `heap` and `primary_key` must be the open relations of `relations`, locked.
pub unsafe fn verdict(
    relations: SessionRelations,
    heap: Relation,
    primary_key: Relation,
) -> Verdict {
    let mut attempts = 0;
    let verdict = loop {
        let known = KNOWN.get().filter(|k| k.relations == relations);
        if let Some(verdict) = known.and_then(|k| k.verdict) {
            break verdict;
        }
        let generation = GENERATION.get();
        // SAFETY: the caller's contract.
        let verdict = unsafe { layout::check_table_and_key(heap, primary_key) };
        attempts += 1;
        if GENERATION.get() == generation {
            KNOWN.set(Some(Known {
                relations,
                verdict: Some(verdict),
                by_user_checked: known.is_some_and(|k| k.by_user_checked),
            }));
            break verdict;
        }
        // An invalidation arrived during the check; the relcache entries are rebuilt by now,
        // so check them again (and use, without caching, what a third try finds).
        if attempts == 3 {
            break verdict;
        }
    };
    if let Some(xmin) = verdict.primary_key_xmin {
        layout::refuse_if_too_new(xmin, PRIMARY_KEY);
    }
    verdict
}

/// Checks the by-user index of `relations`, open and locked by the caller, unless it passed
/// since the last change.
///
/// # Safety
/// `index` must be the open relation of `relations.by_user`, locked, and `layout` the
/// table's.
pub unsafe fn check_by_user(relations: SessionRelations, index: Relation, layout: &Layout) {
    // SAFETY: the caller's contract: an open index.
    unsafe {
        let form = (*index).rd_index;
        if !form.is_null() && (*form).indcheckxmin {
            layout::refuse_if_too_new(
                pg_sys::submodules::htup::HeapTupleHeaderGetXmin((*(*index).rd_indextuple).t_data),
                BY_USER,
            );
        }
    }
    if KNOWN
        .get()
        .is_some_and(|k| k.relations == relations && k.by_user_checked)
    {
        return;
    }
    let generation = GENERATION.get();
    // SAFETY: the caller's contract.
    unsafe { layout::check_by_user_index(index, relations.table, layout) };
    // Remembered only if nothing changed meanwhile (see GENERATION).
    let known = KNOWN.get().filter(|k| k.relations == relations);
    if let (Some(known), true) = (known, GENERATION.get() == generation) {
        KNOWN.set(Some(Known {
            by_user_checked: true,
            ..known
        }));
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn forget_on_invalidation(_arg: pg_sys::Datum, relid: Oid) {
    GENERATION.set(GENERATION.get().wrapping_add(1));
    if let Some(known) = KNOWN.get() {
        let ours = [
            known.relations.table,
            known.relations.primary_key,
            known.relations.by_user,
        ];
        if relid == pg_sys::InvalidOid || ours.contains(&relid) {
            KNOWN.set(None);
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
