//! Direct single-row reads and writes of `varel_session.sessions`.
//!
//! Every per-request function touches one row, found through the primary key on `token_hash`.
//! Instead of running SQL through SPI (parse-analysed plans, an executor start-up and shut-down
//! per statement, and name resolution that a caller's `search_path` could influence), these
//! functions do what PostgreSQL's logical-replication apply does (`execReplication.c`): open the
//! table and index by OID, scan the index with a snapshot, and call the table access method's
//! insert, update and delete. BENCHMARKS.md has the figures that justified it.
//!
//! Concurrency follows `UPDATE ... WHERE token_hash = $1` under READ COMMITTED: if another
//! transaction changed the row first, wait for it, lock the newest version, check that it is
//! still the same live session (a regenerate changes the token, a destroy removes the row),
//! and apply the change to that version. Nothing is lost and nothing is revived. Under
//! REPEATABLE READ or SERIALIZABLE a concurrent change is a serialization failure, as for SQL.
//!
//! API writes do not fire triggers: the functions set `updated_at` themselves, and the table's
//! trigger covers administrators' direct `UPDATE`s. Index entries are maintained through the
//! executor's own routine, so indexes an administrator adds stay correct.

use crate::catalog;
use crate::errors;
use crate::row::{Row, NATTS};
use crate::token::TokenHash;
use pgrx::pg_sys::{self, Datum, ItemPointerData, Relation, Snapshot, TupleTableSlot};
use pgrx::PgSqlErrorCode;
use std::ptr::null_mut;

const NO_LOCK: pg_sys::LOCKMODE = pg_sys::NoLock as pg_sys::LOCKMODE;

/// The sessions table and its primary-key index, open for the current call.
pub struct Table {
    heap: Relation,
    pk: Relation,
}

impl Table {
    /// Opens for reading (`AccessShareLock`, as `SELECT` takes).
    pub fn open_for_read() -> Table {
        Self::open(pg_sys::AccessShareLock as pg_sys::LOCKMODE)
    }

    /// Opens for writing (`RowExclusiveLock`, as `UPDATE` takes).
    pub fn open_for_write() -> Table {
        Self::open(pg_sys::RowExclusiveLock as pg_sys::LOCKMODE)
    }

    fn open(lock: pg_sys::LOCKMODE) -> Table {
        let rels = catalog::session_relations();
        // SAFETY: the OIDs come from the catalog and are forgotten on relcache invalidation;
        // the locks are held to the end of the transaction, as the executor's are.
        unsafe {
            Table {
                heap: pg_sys::relation_open(rels.table, lock),
                pk: pg_sys::index_open(rels.primary_key, lock),
            }
        }
    }

    pub fn heap(&self) -> Relation {
        self.heap
    }

    /// A slot that can hold a row read from the table (and pins its buffer while it does).
    pub fn slot(&self) -> Slot {
        // SAFETY: heap is open.
        Slot(unsafe { pg_sys::table_slot_create(self.heap, null_mut()) })
    }

    /// Reads the row whose key is `hash`, as `snapshot` sees it, into `slot`.
    pub fn fetch(&self, hash: &TokenHash, snapshot: Snapshot, slot: &Slot) -> bool {
        let key = HashKey::new(hash);
        // SAFETY: relations open; the key outlives the scan.
        unsafe {
            fetch_first(
                self.heap,
                self.pk,
                pg_sys::F_BYTEAEQ,
                key.datum(),
                snapshot,
                slot,
            )
        }
    }

    /// Inserts `row` and its index entries; returns the slot holding the stored row.
    pub fn insert(&self, row: &Row) -> Slot {
        let slot = Slot::for_new_row(self.heap, row);
        // SAFETY: heap open with RowExclusiveLock; the slot matches its descriptor.
        unsafe {
            let cid = pg_sys::GetCurrentCommandId(true);
            pg_sys::table_tuple_insert(self.heap, slot.0, cid, 0, null_mut());
            insert_index_entries(self.heap, slot.0);
        }
        slot
    }

    /// Applies `decide` to the row in `found` (read with `snapshot`), following concurrent
    /// updates to the newest version as long as `same_session` says it is still the session
    /// the caller meant. Returns the row as it stands afterwards, or `None` when `decide` says
    /// there is no session or the row went away.
    pub fn update(
        &self,
        found: Slot,
        snapshot: Snapshot,
        same_session: impl Fn(&Row) -> bool,
        mut decide: impl FnMut(&Row) -> Decision,
    ) -> Option<Written> {
        // SAFETY: relations open with RowExclusiveLock; `found` holds a row of this table.
        unsafe {
            let cid = pg_sys::GetCurrentCommandId(true);
            loop {
                let current = found.row();
                let wanted = match decide(&current) {
                    Decision::NoSession => return None,
                    Decision::Keep => {
                        return Some(Written {
                            row: current,
                            _slots: (found, None),
                        })
                    }
                    Decision::Write(row) => row,
                };
                let new = Slot::for_new_row(self.heap, &wanted);
                let mut tid = found.tid();
                let mut tmfd: pg_sys::TM_FailureData = std::mem::zeroed();
                let mut lock_mode: pg_sys::LockTupleMode::Type = 0;
                let mut non_hot = false;
                let result = pg_sys::table_tuple_update(
                    self.heap,
                    &mut tid,
                    new.0,
                    cid,
                    snapshot,
                    null_mut(),
                    true,
                    &mut tmfd,
                    &mut lock_mode,
                    &mut non_hot,
                );
                match result {
                    pg_sys::TM_Result::TM_Ok => {
                        if non_hot {
                            insert_index_entries(self.heap, new.0);
                        }
                        let row = new.row();
                        return Some(Written {
                            row,
                            _slots: (found, Some(new)),
                        });
                    }
                    pg_sys::TM_Result::TM_Deleted => {
                        fail_if_serializable();
                        return None;
                    }
                    pg_sys::TM_Result::TM_Updated => {
                        fail_if_serializable();
                        if !self.lock_newest(&found, snapshot, cid, lock_mode, &same_session) {
                            return None;
                        }
                    }
                    other => unexpected_status(other),
                }
            }
        }
    }

    /// Deletes the row in `found` if `still_wanted` holds for it (or for its newest version,
    /// after a concurrent update). Returns whether a row was deleted.
    pub fn delete(
        &self,
        found: &Slot,
        snapshot: Snapshot,
        still_wanted: impl Fn(&Row) -> bool,
    ) -> bool {
        // SAFETY: as for `update`.
        unsafe {
            let cid = pg_sys::GetCurrentCommandId(true);
            loop {
                if !still_wanted(&found.row()) {
                    return false;
                }
                let mut tid = found.tid();
                let mut tmfd: pg_sys::TM_FailureData = std::mem::zeroed();
                let result = pg_sys::table_tuple_delete(
                    self.heap,
                    &mut tid,
                    cid,
                    snapshot,
                    null_mut(),
                    true,
                    &mut tmfd,
                    false,
                );
                match result {
                    pg_sys::TM_Result::TM_Ok => return true,
                    pg_sys::TM_Result::TM_Deleted => {
                        fail_if_serializable();
                        return false;
                    }
                    pg_sys::TM_Result::TM_Updated => {
                        fail_if_serializable();
                        let mode = pg_sys::LockTupleMode::LockTupleExclusive;
                        if !self.lock_newest(found, snapshot, cid, mode, &still_wanted) {
                            return false;
                        }
                    }
                    other => unexpected_status(other),
                }
            }
        }
    }

    /// After a concurrent update: waits for it, locks the newest version into `slot`, and says
    /// whether that version is still the row the caller meant.
    unsafe fn lock_newest(
        &self,
        slot: &Slot,
        snapshot: Snapshot,
        cid: pg_sys::CommandId,
        mode: pg_sys::LockTupleMode::Type,
        same_session: &impl Fn(&Row) -> bool,
    ) -> bool {
        unsafe {
            let mut tid = slot.tid();
            let mut tmfd: pg_sys::TM_FailureData = std::mem::zeroed();
            let result = pg_sys::table_tuple_lock(
                self.heap,
                &mut tid,
                snapshot,
                slot.0,
                cid,
                mode,
                pg_sys::LockWaitPolicy::LockWaitBlock,
                pg_sys::TUPLE_LOCK_FLAG_FIND_LAST_VERSION as u8,
                &mut tmfd,
            );
            match result {
                pg_sys::TM_Result::TM_Ok => same_session(&slot.row()),
                pg_sys::TM_Result::TM_Deleted => false,
                other => unexpected_status(other),
            }
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: opened in `open`; the lock stays until the end of the transaction.
        unsafe {
            pg_sys::index_close(self.pk, NO_LOCK);
            pg_sys::relation_close(self.heap, NO_LOCK);
        }
    }
}

/// What a write wants to do with the live row it was given.
pub enum Decision {
    /// The row is not a live session: report "no session".
    NoSession,
    /// Nothing to change: report the row as it is.
    Keep,
    /// Replace the row with this one.
    Write(Row),
}

/// A row after a write, with the slots its datums point into.
pub struct Written {
    pub row: Row,
    _slots: (Slot, Option<Slot>),
}

/// A tuple slot, dropped (and its buffer pin released) with this value.
pub struct Slot(*mut TupleTableSlot);

impl Slot {
    /// A virtual slot holding `row`, ready to be inserted into `heap`.
    fn for_new_row(heap: Relation, row: &Row) -> Slot {
        // SAFETY: the slot is created for the heap's own descriptor, which has NATTS columns
        // (checked by `catalog`).
        unsafe {
            let slot = pg_sys::MakeSingleTupleTableSlot((*heap).rd_att, &pg_sys::TTSOpsVirtual);
            pg_sys::ExecClearTuple(slot);
            std::ptr::copy_nonoverlapping(row.values.as_ptr(), (*slot).tts_values, NATTS);
            std::ptr::copy_nonoverlapping(row.nulls.as_ptr(), (*slot).tts_isnull, NATTS);
            pg_sys::ExecStoreVirtualTuple(slot);
            Slot(slot)
        }
    }

    /// The row the slot holds; its datums stay valid while the slot lives.
    pub fn row(&self) -> Row {
        // SAFETY: the slot holds a row of the sessions table.
        unsafe {
            pg_sys::slot_getallattrs(self.0);
            let mut row = Row::empty();
            std::ptr::copy_nonoverlapping((*self.0).tts_values, row.values.as_mut_ptr(), NATTS);
            std::ptr::copy_nonoverlapping((*self.0).tts_isnull, row.nulls.as_mut_ptr(), NATTS);
            row
        }
    }

    pub fn tid(&self) -> ItemPointerData {
        // SAFETY: the slot holds a stored row.
        unsafe { (*self.0).tts_tid }
    }

    pub fn raw(&self) -> *mut TupleTableSlot {
        self.0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: created by table_slot_create or MakeSingleTupleTableSlot, dropped once.
        unsafe { pg_sys::ExecDropSingleTupleTableSlot(self.0) }
    }
}

/// The first row an equality scan of `index` finds for `value`, as `snapshot` sees it.
///
/// # Safety
/// Relations open; `eq_proc` the index column's equality function; `value` valid.
pub unsafe fn fetch_first(
    heap: Relation,
    index: Relation,
    eq_proc: u32,
    value: Datum,
    snapshot: Snapshot,
    slot: &Slot,
) -> bool {
    let mut found = false;
    unsafe {
        scan_equal(heap, index, eq_proc, value, snapshot, slot, |_| {
            found = true;
            false
        })
    };
    found
}

/// Calls `each` for every row an equality scan of `index`'s first column finds for `value`,
/// until it returns false.
///
/// # Safety
/// As for [`fetch_first`].
pub unsafe fn scan_equal(
    heap: Relation,
    index: Relation,
    eq_proc: u32,
    value: Datum,
    snapshot: Snapshot,
    slot: &Slot,
    mut each: impl FnMut(&Slot) -> bool,
) {
    unsafe {
        let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
        pg_sys::ScanKeyInit(
            &mut key,
            1,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::Oid::from(eq_proc),
            value,
        );
        let scan = pg_sys::index_beginscan(heap, index, snapshot, 1, 0);
        pg_sys::index_rescan(scan, &mut key, 1, null_mut(), 0);
        while pg_sys::index_getnext_slot(scan, pg_sys::ScanDirection::ForwardScanDirection, slot.0)
        {
            if !each(slot) {
                break;
            }
        }
        pg_sys::index_endscan(scan);
    }
}

/// Inserts the index entries for the row in `slot` into every index of `heap`, with the
/// executor's routine (unique checks, partial-index predicates, indexes added later).
unsafe fn insert_index_entries(heap: Relation, slot: *mut TupleTableSlot) {
    unsafe {
        let estate = pg_sys::CreateExecutorState();
        let info = pg_sys::palloc0(std::mem::size_of::<pg_sys::ResultRelInfo>())
            as *mut pg_sys::ResultRelInfo;
        (*info).type_ = pg_sys::NodeTag::T_ResultRelInfo;
        pg_sys::InitResultRelInfo(info, heap, 0, null_mut(), 0);
        pg_sys::ExecOpenIndices(info, false);
        // `update = false`: the "unchanged by update" hint needs a range table we do not have.
        pg_sys::ExecInsertIndexTuples(info, slot, estate, false, false, null_mut(), null_mut());
        pg_sys::ExecCloseIndices(info);
        pg_sys::FreeExecutorState(estate);
    }
}

/// A `bytea` datum of a token hash, on the stack.
#[repr(C, align(8))]
struct HashKey {
    varlena: [u8; pg_sys::VARHDRSZ + 32],
}

impl HashKey {
    fn new(hash: &TokenHash) -> HashKey {
        let mut key = HashKey {
            varlena: [0; pg_sys::VARHDRSZ + 32],
        };
        // SAFETY: the buffer is 4-byte aligned and VARHDRSZ + 32 bytes long.
        unsafe {
            pgrx::varlena::set_varsize_4b(
                key.varlena.as_mut_ptr() as *mut pg_sys::varlena,
                key.varlena.len() as i32,
            )
        };
        key.varlena[pg_sys::VARHDRSZ..].copy_from_slice(hash);
        key
    }

    fn datum(&self) -> Datum {
        Datum::from(self.varlena.as_ptr())
    }
}

fn fail_if_serializable() {
    // SAFETY: reads backend-global state.
    if unsafe { pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32 } {
        errors::raise(
            PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            "could not serialize access due to concurrent update of a session",
        );
    }
}

fn unexpected_status(status: pg_sys::TM_Result::Type) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        format!("unexpected table access status {status} while writing a session"),
    )
}
