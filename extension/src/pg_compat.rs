//! What differs between the PostgreSQL majors this extension supports (15 to 18), in one place.
//!
//! Everything else calls these wrappers, so the API code never carries a `cfg` of its own. Each
//! difference is a signature change in PostgreSQL's C API:
//!
//! - 16: `table_tuple_update` reports which indexes need new entries as a `TU_UpdateIndexes`
//!   (none, all, or only the summarizing ones such as BRIN) instead of a bool, and
//!   `ExecInsertIndexTuples` gained `onlySummarizing` to match.
//! - 18: `index_beginscan` takes an instrumentation pointer, and a tuple descriptor keeps its
//!   `pg_attribute` rows after an array of compact attributes instead of at a fixed offset.

use pgrx::pg_sys::{self, IndexScanDesc, Relation, Snapshot, TupleDesc, TupleTableSlot};

/// Which index entries a row update needs, as the table access method reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexUpdate {
    /// A HOT update: no index has a changed key, and the new version is on the same page.
    None,
    /// Every index needs an entry for the new version.
    All,
    /// Only summarizing indexes (BRIN) need one (PostgreSQL 16 and later).
    SummarizingOnly,
}

/// The `pg_attribute` row of a descriptor's attribute `i` (0-based).
///
/// # Safety
/// `desc` must be a valid tuple descriptor and `i` below its `natts`.
#[inline]
pub unsafe fn tuple_desc_attr<'a>(desc: TupleDesc, i: usize) -> &'a pg_sys::FormData_pg_attribute {
    #[cfg(not(feature = "pg18"))]
    // SAFETY: the caller's contract; the attributes follow the header as a flexible array.
    unsafe {
        &(*desc).attrs.as_slice((*desc).natts as usize)[i]
    }
    #[cfg(feature = "pg18")]
    // SAFETY: the caller's contract; in 18 the FormData_pg_attribute array follows `natts`
    // compact attributes (TupleDescAttr in tupdesc.h).
    unsafe {
        let natts = (*desc).natts as usize;
        let first = (*desc)
            .compact_attrs
            .as_ptr()
            .add(natts)
            .cast::<pg_sys::FormData_pg_attribute>();
        &*first.add(i)
    }
}

/// `index_beginscan` for a plain (non-parallel, uninstrumented) scan.
///
/// # Safety
/// Both relations open and locked; `snapshot` valid for the scan's life.
#[inline]
pub unsafe fn index_beginscan(
    heap: Relation,
    index: Relation,
    snapshot: Snapshot,
    nkeys: i32,
) -> IndexScanDesc {
    #[cfg(not(feature = "pg18"))]
    // SAFETY: the caller's contract.
    unsafe {
        pg_sys::index_beginscan(heap, index, snapshot, nkeys, 0)
    }
    #[cfg(feature = "pg18")]
    // SAFETY: the caller's contract; no instrumentation.
    unsafe {
        pg_sys::index_beginscan(heap, index, snapshot, std::ptr::null_mut(), nkeys, 0)
    }
}

/// `table_tuple_update`, reporting the index work in one type for every major.
///
/// # Safety
/// As `table_tuple_update`: `heap` open with `RowExclusiveLock`, `otid` a row of it, `slot` a
/// slot of its descriptor holding the new version.
#[allow(clippy::too_many_arguments)]
#[inline]
pub unsafe fn table_tuple_update(
    heap: Relation,
    otid: &mut pg_sys::ItemPointerData,
    slot: *mut TupleTableSlot,
    cid: pg_sys::CommandId,
    snapshot: Snapshot,
    wait: bool,
    tmfd: &mut pg_sys::TM_FailureData,
    lock_mode: &mut pg_sys::LockTupleMode::Type,
) -> (pg_sys::TM_Result::Type, IndexUpdate) {
    #[cfg(feature = "pg15")]
    // SAFETY: the caller's contract.
    unsafe {
        let mut all = false;
        let result = pg_sys::table_tuple_update(
            heap,
            otid,
            slot,
            cid,
            snapshot,
            std::ptr::null_mut(),
            wait,
            tmfd,
            lock_mode,
            &mut all,
        );
        (
            result,
            if all {
                IndexUpdate::All
            } else {
                IndexUpdate::None
            },
        )
    }
    #[cfg(not(feature = "pg15"))]
    // SAFETY: the caller's contract.
    unsafe {
        let mut which = pg_sys::TU_UpdateIndexes::TU_None;
        let result = pg_sys::table_tuple_update(
            heap,
            otid,
            slot,
            cid,
            snapshot,
            std::ptr::null_mut(),
            wait,
            tmfd,
            lock_mode,
            &mut which,
        );
        let update = match which {
            pg_sys::TU_UpdateIndexes::TU_All => IndexUpdate::All,
            pg_sys::TU_UpdateIndexes::TU_Summarizing => IndexUpdate::SummarizingOnly,
            _ => IndexUpdate::None,
        };
        (result, update)
    }
}

/// `ExecInsertIndexTuples` for a new row version (`only_summarizing` after an update that
/// needs only BRIN-style entries).
///
/// # Safety
/// `info` has its indexes open; `slot` holds the stored row; `estate` is live.
#[inline]
pub unsafe fn exec_insert_index_tuples(
    info: *mut pg_sys::ResultRelInfo,
    slot: *mut TupleTableSlot,
    estate: *mut pg_sys::EState,
    only_summarizing: bool,
) {
    // `update = false`: the "unchanged by update" hint needs a range table we do not have;
    // without it the index AM simply does not try its bottom-up deletion shortcut.
    #[cfg(feature = "pg15")]
    // SAFETY: the caller's contract. PostgreSQL 15 has no summarizing-only updates.
    unsafe {
        debug_assert!(!only_summarizing);
        pg_sys::ExecInsertIndexTuples(
            info,
            slot,
            estate,
            false,
            false,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
    }
    #[cfg(not(feature = "pg15"))]
    // SAFETY: the caller's contract.
    unsafe {
        pg_sys::ExecInsertIndexTuples(
            info,
            slot,
            estate,
            false,
            false,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            only_summarizing,
        );
    }
}
