//! Direct single-row reads and writes of `varel_session.sessions`: the only module that opens
//! the table or its indexes.
//!
//! Every per-request function touches one row, found through the primary key on `token_hash`.
//! Instead of running SQL through SPI (parse-analysed plans, an executor start-up and shut-down
//! per statement, and name resolution that a caller's `search_path` could influence), these
//! functions do what PostgreSQL's logical-replication apply does (`execReplication.c`): open the
//! table and index by OID, scan the index with a snapshot, and call the table access method's
//! insert, update and delete. BENCHMARKS.md has the figures that justified it.
//!
//! What the executor would check is checked when the table is opened (`catalog`: columns,
//! indexes, and the rules a direct write would skip), and before every update and delete
//! (publications' replica identity, with the executor's own routine). Index entries are made by
//! the executor's own routine too, so indexes an administrator adds stay correct.
//!
//! Concurrency follows `UPDATE ... WHERE token_hash = $1` under READ COMMITTED: if another
//! transaction changed the row first, wait for it, lock the newest version, check that it is
//! still the same live session (a regenerate changes the token, a destroy removes the row),
//! and apply the change to that version. Nothing is lost and nothing is revived. Under
//! REPEATABLE READ or SERIALIZABLE a concurrent change is a serialization failure, as for SQL.
//! An optional write (`session_load`'s slide) never waits and never fails: it is skipped.

use crate::catalog::{self, Layout, ABSENT};
use crate::errors;
use crate::pg_compat::{self, IndexUpdate};
use crate::row::{Row, NATTS};
use crate::token::TokenHash;
use pgrx::pg_sys::{self, Datum, ItemPointerData, Relation, Snapshot, TupleTableSlot};
use pgrx::PgSqlErrorCode;
use std::ptr::null_mut;

const NO_LOCK: pg_sys::LOCKMODE = pg_sys::NoLock as pg_sys::LOCKMODE;

/// What a function is going to do with the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only read (`AccessShareLock`, as `SELECT` takes).
    Read,
    /// Read now, maybe write later in the call (`session_load`'s slide): the lock of a read,
    /// and the refusal of a writer when a direct write would skip a rule.
    ReadThenMaybeWrite,
    /// Write (`RowExclusiveLock`, as `UPDATE` takes).
    Write,
}

/// The sessions table and its primary-key index, open and checked for the current call.
pub struct Table {
    heap: Relation,
    pk: Relation,
    layout: Layout,
}

impl Table {
    /// Opens the table and its primary key, locked until the end of the transaction as the
    /// executor's locks are, and checks them (`catalog::verdict`).
    pub fn open(access: Access) -> Table {
        let lock = match access {
            Access::Write => pg_sys::RowExclusiveLock,
            Access::Read | Access::ReadThenMaybeWrite => pg_sys::AccessShareLock,
        } as pg_sys::LOCKMODE;
        // Taking a lock processes pending invalidations, which may say that what was looked up
        // before is gone or changed (DROP/CREATE EXTENSION, a recreated index): then look up
        // again. So the locks come first, and the relations are opened only once the lookup
        // is known to be current. Twice is enough unless DDL keeps racing us; a third change
        // is an error.
        for _ in 0..3 {
            let relations = catalog::session_relations();
            // SAFETY: lock requests by OID; a lock on a relation dropped meanwhile is harmless
            // (the invalidation that says so makes `still_current` false).
            unsafe {
                pg_sys::LockRelationOid(relations.table, lock);
                pg_sys::LockRelationOid(relations.primary_key, lock);
            }
            if !catalog::still_current(relations) {
                catalog::forget();
                continue;
            }
            // SAFETY: both are locked, and no invalidation said they changed since they were
            // looked up, so they exist: dropping them needs a lock that conflicts with ours,
            // and its invalidation would have been processed while ours was taken.
            let (heap, pk) = unsafe {
                (
                    pg_sys::relation_open(relations.table, NO_LOCK),
                    pg_sys::relation_open(relations.primary_key, NO_LOCK),
                )
            };
            // The table owns the relations from here on: an ERROR raised by a check below
            // closes them on the way out.
            let mut table = Table {
                heap,
                pk,
                layout: Layout::in_order(),
            };
            // SAFETY: both relations are open and locked.
            let verdict = unsafe { catalog::verdict(relations, heap, pk) };
            table.layout = verdict.layout;
            if access != Access::Read && !verdict.writes_allowed {
                // SAFETY: the table is open.
                unsafe { catalog::refuse_writes(heap) };
            }
            return table;
        }
        errors::raise_with_hint(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "varel_session.sessions kept changing while it was being opened",
            "retry the call",
        )
    }

    /// [`open`](Self::open) for reading as it was before the per-call checks existed: the
    /// cached OIDs opened as they are, no verdict. Only for the benchmark that prices the
    /// checks (feature `bench_unchecked`).
    #[cfg(feature = "bench_unchecked")]
    pub fn open_unchecked() -> Table {
        let relations = catalog::session_relations();
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        // SAFETY: benchmark only, on a table nobody alters while it runs.
        unsafe {
            Table {
                heap: pg_sys::relation_open(relations.table, lock),
                pk: pg_sys::relation_open(relations.primary_key, lock),
                layout: Layout::in_order(),
            }
        }
    }

    /// Takes the write locks [`open`](Self::open) needs if that is possible without waiting,
    /// and says whether it was. After `true`, `open(Access::Write)` does not wait for them.
    pub fn write_lock_available() -> bool {
        let relations = catalog::session_relations();
        let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
        // SAFETY: conditional lock requests by OID; a lock on a relation dropped meanwhile is
        // harmless, and `open` checks what it opens.
        unsafe {
            pg_sys::ConditionalLockRelationOid(relations.table, lock)
                && pg_sys::ConditionalLockRelationOid(relations.primary_key, lock)
        }
    }

    /// A slot that can hold a row read from the table (and pins its buffer while it does).
    pub fn slot(&self) -> Slot {
        // SAFETY: heap is open.
        let raw = unsafe { pg_sys::table_slot_create(self.heap, null_mut()) };
        Slot {
            raw,
            layout: self.layout,
        }
    }

    /// Reads the row whose key is `hash`, as `snapshot` sees it, into `slot`.
    pub fn fetch(&self, hash: &TokenHash, snapshot: Snapshot, slot: &Slot) -> bool {
        let key = HashKey::new(hash);
        let mut found = false;
        // SAFETY: relations open; the key outlives the scan.
        unsafe {
            scan_equal(
                self.heap,
                self.pk,
                pg_sys::F_BYTEAEQ,
                key.datum(),
                snapshot,
                slot,
                |_| {
                    found = true;
                    false
                },
            )
        };
        found
    }

    /// Calls `each` for every row the by-user index finds for `user_id` under `snapshot`, until
    /// it returns false. Refuses (55000) when the index is missing or not usable.
    pub fn for_each_of_user(
        &self,
        user_id: i64,
        snapshot: Snapshot,
        each: impl FnMut(&Slot) -> bool,
    ) {
        let index = ByUserIndex::open(self);
        let slot = self.slot();
        // SAFETY: both relations are open; the slot outlives the scan.
        unsafe {
            scan_equal(
                self.heap,
                index.0,
                pg_sys::F_INT8EQ,
                Datum::from(user_id),
                snapshot,
                &slot,
                each,
            )
        };
    }

    /// Reads the row version at `tid` as `snapshot` sees it into `slot`.
    pub fn fetch_version(&self, tid: ItemPointerData, snapshot: Snapshot, slot: &Slot) -> bool {
        let mut tid = tid;
        // SAFETY: heap open; the tid came from this table.
        unsafe { pg_sys::table_tuple_fetch_row_version(self.heap, &mut tid, snapshot, slot.raw) }
    }

    /// Whether the row in `slot` is visible to `snapshot`.
    pub fn visible_to(&self, slot: &Slot, snapshot: Snapshot) -> bool {
        // SAFETY: the slot holds a row of this open table.
        unsafe { pg_sys::table_tuple_satisfies_snapshot(self.heap, slot.raw, snapshot) }
    }

    /// Inserts `row` and its index entries; returns the slot holding the stored row.
    pub fn insert(&self, row: &Row<'_>) -> Slot {
        let slot = Slot::for_new_row(self.heap, self.layout, row);
        // SAFETY: heap open with RowExclusiveLock; the slot matches its descriptor.
        unsafe {
            let cid = pg_sys::GetCurrentCommandId(true);
            pg_sys::table_tuple_insert(self.heap, slot.raw, cid, 0, null_mut());
            insert_index_entries(self.heap, slot.raw, false);
        }
        slot
    }

    /// Applies `decide` to the row in `found` (read with `snapshot`). On a concurrent change,
    /// `on_conflict` says whether to follow it to the newest version (as long as
    /// `same_session` says it is still the session the caller meant) or to give up. Returns the
    /// row as it stands afterwards, or `None` when `decide` says there is no session, the row
    /// went away, or the write was given up.
    pub fn update(
        &self,
        found: Slot,
        snapshot: Snapshot,
        on_conflict: OnConflict,
        same_session: impl Fn(&Row<'_>) -> bool,
        mut decide: impl for<'r> FnMut(&Row<'r>) -> Decision<'r>,
    ) -> Option<Written> {
        let wait = on_conflict == OnConflict::Follow;
        // SAFETY: relations open with RowExclusiveLock; `found` holds a row of this table.
        unsafe {
            let cid = pg_sys::GetCurrentCommandId(true);
            loop {
                let current = found.row();
                let wanted = match decide(&current) {
                    Decision::NoSession => return None,
                    Decision::Keep => {
                        return Some(Written {
                            // SAFETY: `found`, which the row borrows, moves in beside it.
                            row: current.unbound(),
                            _slots: (found, None),
                        });
                    }
                    Decision::Write(row) => row,
                };
                pg_sys::CheckCmdReplicaIdentity(self.heap, pg_sys::CmdType::CMD_UPDATE);
                let new = Slot::for_new_row(self.heap, self.layout, &wanted);
                let mut tid = found.tid();
                let mut tmfd: pg_sys::TM_FailureData = std::mem::zeroed();
                let mut lock_mode: pg_sys::LockTupleMode::Type = 0;
                let (result, index_update) = pg_compat::table_tuple_update(
                    self.heap,
                    &mut tid,
                    new.raw,
                    cid,
                    snapshot,
                    wait,
                    &mut tmfd,
                    &mut lock_mode,
                );
                match result {
                    pg_sys::TM_Result::TM_Ok => {
                        if index_update != IndexUpdate::None {
                            let summarizing = index_update == IndexUpdate::SummarizingOnly;
                            insert_index_entries(self.heap, new.raw, summarizing);
                        }
                        return Some(Written {
                            // SAFETY: `new`, which the row borrows, moves in beside it.
                            row: new.row().unbound(),
                            _slots: (found, Some(new)),
                        });
                    }
                    _ if !wait => return None,
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
        still_wanted: impl Fn(&Row<'_>) -> bool,
    ) -> bool {
        // SAFETY: as for `update`.
        unsafe {
            let cid = pg_sys::GetCurrentCommandId(true);
            loop {
                if !still_wanted(&found.row()) {
                    return false;
                }
                pg_sys::CheckCmdReplicaIdentity(self.heap, pg_sys::CmdType::CMD_DELETE);
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
        same_session: &impl Fn(&Row<'_>) -> bool,
    ) -> bool {
        // SAFETY: the caller's contract: the table is open for writing, the slot holds a row.
        unsafe {
            let mut tid = slot.tid();
            let mut tmfd: pg_sys::TM_FailureData = std::mem::zeroed();
            let result = pg_sys::table_tuple_lock(
                self.heap,
                &mut tid,
                snapshot,
                slot.raw,
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
        // While unwinding from an ERROR (or a panic), leave the clean-up to the transaction's
        // abort: PostgreSQL's state may be mid-operation, and an ERROR raised here would abort
        // the process.
        if std::thread::panicking() {
            return;
        }
        // SAFETY: opened in `open`; the lock stays until the end of the transaction.
        unsafe {
            pg_sys::relation_close(self.pk, NO_LOCK);
            pg_sys::relation_close(self.heap, NO_LOCK);
        }
    }
}

/// The by-user index, open (and checked) for one scan.
struct ByUserIndex(Relation);

impl ByUserIndex {
    fn open(table: &Table) -> ByUserIndex {
        let relations = catalog::session_relations();
        let oid = relations.by_user;
        if oid == pg_sys::InvalidOid {
            catalog::by_user_missing();
        }
        // SAFETY: opening by OID with a lock; NULL if it was dropped since the lookup, which
        // the table's lock makes impossible for anything but DROP INDEX CONCURRENTLY.
        let index = unsafe { pg_sys::try_relation_open(oid, pg_sys::AccessShareLock as i32) };
        if index.is_null() {
            catalog::forget();
            catalog::by_user_missing();
        }
        let guard = ByUserIndex(index);
        // SAFETY: the index is open and locked.
        unsafe { catalog::check_by_user(relations, index, &table.layout) };
        guard
    }
}

impl Drop for ByUserIndex {
    fn drop(&mut self) {
        // While unwinding from an ERROR (or a panic), leave the clean-up to the transaction's
        // abort: PostgreSQL's state may be mid-operation, and an ERROR raised here would abort
        // the process.
        if std::thread::panicking() {
            return;
        }
        // SAFETY: opened in `open`; the lock stays until the end of the transaction.
        unsafe { pg_sys::relation_close(self.0, NO_LOCK) }
    }
}

/// What to do when another transaction changed the row first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Wait for it and apply the change to the newest version (READ COMMITTED), or fail with
    /// 40001 (REPEATABLE READ, SERIALIZABLE): what SQL's `UPDATE` does.
    Follow,
    /// Give up the write, without waiting: for writes that are optional.
    Skip,
}

/// What a write wants to do with the live row it was given.
pub enum Decision<'a> {
    /// The row is not a live session: report "no session".
    NoSession,
    /// Nothing to change: report the row as it is.
    Keep,
    /// Replace the row with this one (its datums valid for as long as the row it was given).
    Write(Row<'a>),
}

/// A row after a write, with the slots its datums point into.
pub struct Written {
    row: Row<'static>,
    _slots: (Slot, Option<Slot>),
}

impl Written {
    /// The row, for as long as this value (and so its slots) lives.
    pub fn row(&self) -> Row<'_> {
        self.row
    }
}

/// A tuple slot of the sessions table, dropped (and its buffer pin released) with this value.
pub struct Slot {
    raw: *mut TupleTableSlot,
    layout: Layout,
}

impl Slot {
    /// A virtual slot holding `row`, ready to be stored into `heap`: the library's columns at
    /// their positions, dropped attributes NULL.
    fn for_new_row(heap: Relation, layout: Layout, row: &Row<'_>) -> Slot {
        // SAFETY: the slot is created for the heap's own descriptor, whose `natts` the layout
        // was computed from (`catalog` re-checks it after every change).
        unsafe {
            let raw = pg_sys::MakeSingleTupleTableSlot((*heap).rd_att, &pg_sys::TTSOpsVirtual);
            pg_sys::ExecClearTuple(raw);
            let values = std::slice::from_raw_parts_mut((*raw).tts_values, layout.natts);
            let nulls = std::slice::from_raw_parts_mut((*raw).tts_isnull, layout.natts);
            let (row_values, row_nulls) = row.datums();
            if layout.is_identity() {
                values.copy_from_slice(row_values);
                nulls.copy_from_slice(row_nulls);
            } else {
                nulls.fill(true);
                values.fill(Datum::from(0usize));
                for (i, position) in layout.position.iter().enumerate() {
                    if *position != ABSENT {
                        values[*position] = row_values[i];
                        nulls[*position] = row_nulls[i];
                    }
                }
            }
            pg_sys::ExecStoreVirtualTuple(raw);
            Slot { raw, layout }
        }
    }

    /// The row the slot holds; its datums stay valid while the slot lives.
    pub fn row(&self) -> Row<'_> {
        // SAFETY: the slot holds a row of the sessions table, `layout.natts` attributes wide,
        // whose columns `catalog` checked to be of the library's types; the slot keeps the
        // buffer pinned for as long as the row borrows it.
        unsafe {
            pg_sys::slot_getallattrs(self.raw);
            let values = std::slice::from_raw_parts((*self.raw).tts_values, self.layout.natts);
            let nulls = std::slice::from_raw_parts((*self.raw).tts_isnull, self.layout.natts);
            let mut row_values = [Datum::from(0usize); NATTS];
            let mut row_nulls = [true; NATTS];
            if self.layout.is_identity() {
                row_values.copy_from_slice(values);
                row_nulls.copy_from_slice(nulls);
            } else {
                for (i, position) in self.layout.position.iter().enumerate() {
                    if *position != ABSENT {
                        row_values[i] = values[*position];
                        row_nulls[i] = nulls[*position];
                    }
                }
            }
            Row::from_datums(row_values, row_nulls)
        }
    }

    pub fn tid(&self) -> ItemPointerData {
        // SAFETY: the slot holds a stored row.
        unsafe { (*self.raw).tts_tid }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // While unwinding from an ERROR (or a panic), leave the clean-up to the transaction's
        // abort: PostgreSQL's state may be mid-operation, and an ERROR raised here would abort
        // the process.
        if std::thread::panicking() {
            return;
        }
        // SAFETY: created by table_slot_create or MakeSingleTupleTableSlot, dropped once.
        unsafe { pg_sys::ExecDropSingleTupleTableSlot(self.raw) }
    }
}

/// Calls `each` for every row an equality scan of `index`'s first column finds for `value`,
/// until it returns false.
///
/// # Safety
/// Relations open; `eq_proc` the index column's equality function; `value` valid.
unsafe fn scan_equal(
    heap: Relation,
    index: Relation,
    eq_proc: u32,
    value: Datum,
    snapshot: Snapshot,
    slot: &Slot,
    mut each: impl FnMut(&Slot) -> bool,
) {
    // SAFETY: the caller's contract; the scan is ended before returning (an ERROR in between
    // aborts the transaction, whose clean-up releases the scan's resources).
    unsafe {
        let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
        pg_sys::ScanKeyInit(
            &mut key,
            1,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::Oid::from(eq_proc),
            value,
        );
        let scan = pg_compat::index_beginscan(heap, index, snapshot, 1);
        pg_sys::index_rescan(scan, &mut key, 1, null_mut(), 0);
        while pg_sys::index_getnext_slot(
            scan,
            pg_sys::ScanDirection::ForwardScanDirection,
            slot.raw,
        ) {
            if !each(slot) {
                break;
            }
        }
        pg_sys::index_endscan(scan);
    }
}

/// Inserts the index entries for the row in `slot` into every index of `heap` (or only the
/// summarizing ones), with the executor's routine: unique and exclusion checks, partial-index
/// predicates, expression indexes, indexes added later.
unsafe fn insert_index_entries(heap: Relation, slot: *mut TupleTableSlot, only_summarizing: bool) {
    // SAFETY: the caller's contract: heap open for writing, slot holding the stored row.
    unsafe {
        let estate = pg_sys::CreateExecutorState();
        let info = pg_sys::palloc0(std::mem::size_of::<pg_sys::ResultRelInfo>())
            as *mut pg_sys::ResultRelInfo;
        (*info).type_ = pg_sys::NodeTag::T_ResultRelInfo;
        pg_sys::InitResultRelInfo(info, heap, 0, null_mut(), 0);
        pg_sys::ExecOpenIndices(info, false);
        pg_compat::exec_insert_index_tuples(info, slot, estate, only_summarizing);
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

/// Whether the transaction uses one snapshot throughout (REPEATABLE READ or SERIALIZABLE).
pub fn uses_transaction_snapshot() -> bool {
    // SAFETY: reads backend-global state.
    unsafe { pg_sys::XactIsoLevel >= pg_sys::XACT_REPEATABLE_READ as i32 }
}

/// 40001, as SQL raises it when a row changed since the transaction's snapshot.
pub fn serialization_failure(what: &str) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
        format!("could not serialize access due to {what}"),
    )
}

fn fail_if_serializable() {
    if uses_transaction_snapshot() {
        serialization_failure("concurrent update of a session");
    }
}

fn unexpected_status(status: pg_sys::TM_Result::Type) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        format!("unexpected table access status {status} while writing a session"),
    )
}
