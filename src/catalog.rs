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
//!   from or to the table, CHECK constraints, row-level security, rules. Writers refuse while
//!   one exists (readers skip nothing, so they carry on). Publications are honoured: every
//!   update and delete runs the executor's own replica-identity check (`storage`).
//!
//! Checking from scratch costs a few catalog reads, so the verdict is kept until PostgreSQL
//! signals a change: a relcache invalidation of the table or one of its indexes (sent by every
//! DDL that touches them, and processed when the lock is taken) forgets it. So the per-call cost
//! is one flag test; the full check runs on the first call after a change.

use crate::errors;
use crate::pg_compat::tuple_desc_attr;
use crate::row::{Col, COLUMNS, NATTS};
use pgrx::pg_sys::{self, Oid, Relation};
use pgrx::PgSqlErrorCode;
use std::cell::Cell;
use std::ffi::CStr;

const SCHEMA: &CStr = c"varel_session";
const INTERNAL_SCHEMA: &CStr = c"varel_session_internal";
const TABLE: &CStr = c"sessions";
const PRIMARY_KEY: &CStr = c"sessions_pkey";
const BY_USER: &CStr = c"sessions_user_id_idx";
/// The extension's own trigger (`sql/schema.sql`): the functions do its job (`updated_at`)
/// themselves, so it is the one trigger a direct write may skip.
const OWN_TRIGGER: &CStr = c"sessions_set_updated_at";

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

/// Where each of the library's columns sits in the table's tuple descriptor. An administrator
/// may have dropped and re-added a column, or added and dropped one of their own: dropped
/// attributes stay in the descriptor forever, so positions are looked up by name, once.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Attributes in the descriptor, dropped ones included.
    pub natts: usize,
    /// 0-based descriptor position of each column, in [`Col`] order; [`ABSENT`] for an
    /// optional column the table does not have (older SQL).
    pub position: [usize; NATTS],
    /// Whether the descriptor is exactly the library's columns in order (the usual case,
    /// which lets rows be copied in one block); worked out once, with the positions.
    identity: bool,
}

/// The position of a column the table does not have.
pub const ABSENT: usize = usize::MAX;

impl Layout {
    /// A layout with each column at `position`, in a descriptor of `natts` attributes.
    pub fn new(natts: usize, position: [usize; NATTS]) -> Layout {
        let identity = natts == NATTS && position.iter().enumerate().all(|(i, p)| *p == i);
        Layout {
            natts,
            position,
            identity,
        }
    }

    /// The columns in order and nothing else: a fresh install's table.
    pub fn in_order() -> Layout {
        Layout::new(NATTS, std::array::from_fn(|i| i))
    }

    /// Whether the descriptor is exactly the library's columns in order.
    pub fn is_identity(&self) -> bool {
        self.identity
    }
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
            "restore the primary key: ALTER TABLE varel_session.sessions \
             ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash)",
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
        let verdict = unsafe { check_table_and_key(heap, primary_key) };
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
        refuse_if_too_new(xmin, PRIMARY_KEY);
    }
    verdict
}

/// The planner's rule for an index rebuilt over broken HOT chains (`indcheckxmin`): usable only
/// by transactions whose snapshots are younger than the index's xmin.
fn refuse_if_too_new(xmin: pg_sys::TransactionId, name: &CStr) {
    // SAFETY: reads this backend's TransactionXmin.
    if !unsafe { pg_sys::TransactionIdPrecedes(xmin, pg_sys::TransactionXmin) } {
        refuse(
            format!(
                "varel_session.{} was rebuilt after this transaction's snapshot",
                name.to_string_lossy()
            ),
            "retry the transaction",
        );
    }
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
            refuse_if_too_new(
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
    unsafe {
        check_index(
            index,
            relations.table,
            BY_USER,
            layout.position[Col::UserId.index()],
            pg_sys::INTEGER_BTREE_FAM_OID,
            pg_sys::INT8OID,
            false,
        );
        if !by_user_predicate_is_usable(index, layout) {
            refuse(
                "varel_session.sessions_user_id_idx has a predicate other than \
                 user_id IS NOT NULL, so it may not list all of a user's sessions",
                BY_USER_HINT,
            );
        }
    }
    // Remembered only if nothing changed meanwhile (see GENERATION).
    let known = KNOWN.get().filter(|k| k.relations == relations);
    if let (Some(known), true) = (known, GENERATION.get() == generation) {
        KNOWN.set(Some(Known {
            by_user_checked: true,
            ..known
        }));
    }
}

const BY_USER_HINT: &str = "recreate it: DROP INDEX varel_session.sessions_user_id_idx; \
     CREATE INDEX sessions_user_id_idx ON varel_session.sessions (user_id, created_at) \
     WHERE user_id IS NOT NULL";

/// Raises the "missing by-user index" error.
pub fn by_user_missing() -> ! {
    refuse(
        "varel_session.sessions has no index named sessions_user_id_idx",
        BY_USER_HINT,
    )
}

unsafe fn check_table_and_key(heap: Relation, primary_key: Relation) -> Verdict {
    // SAFETY: the caller's contract: both relations are open.
    unsafe {
        let class = &*(*heap).rd_rel;
        if class.relkind as u8 != pg_sys::RELKIND_RELATION
            || class.relam != pg_sys::HEAP_TABLE_AM_OID
        {
            refuse(
                "varel_session.sessions is no longer an ordinary heap table",
                REINSTALL_HINT,
            );
        }
        let layout = check_columns((*heap).rd_att);
        check_index(
            primary_key,
            (*heap).rd_id,
            PRIMARY_KEY,
            layout.position[Col::TokenHash.index()],
            pg_sys::BYTEA_BTREE_FAM_OID,
            pg_sys::BYTEAOID,
            true,
        );
        if has_predicate(primary_key) {
            refuse(
                "varel_session.sessions_pkey is a partial index",
                "restore the primary key: ALTER TABLE varel_session.sessions \
                 ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash)",
            );
        }
        let pk_index = &*(*primary_key).rd_index;
        let primary_key_xmin = pk_index.indcheckxmin.then(|| {
            pg_sys::submodules::htup::HeapTupleHeaderGetXmin((*(*primary_key).rd_indextuple).t_data)
        });
        Verdict {
            layout,
            writes_allowed: first_skipped_rule(heap).is_none(),
            primary_key_xmin,
        }
    }
}

/// Finds each of the library's columns by name and checks its type, type modifier and NOT
/// NULL; refuses columns it does not know (their defaults, constraints and NOT NULL would be
/// skipped by a direct insert).
unsafe fn check_columns(desc: pg_sys::TupleDesc) -> Layout {
    // SAFETY: the caller's contract: a live descriptor.
    let natts = unsafe { (*desc).natts } as usize;
    let mut position = [ABSENT; NATTS];
    for i in 0..natts {
        // SAFETY: i < natts.
        let attr = unsafe { tuple_desc_attr(desc, i) };
        if attr.attisdropped {
            continue;
        }
        // SAFETY: attname is a NUL-terminated NameData.
        let name = unsafe { CStr::from_ptr(attr.attname.data.as_ptr()) };
        let Some(column) = COLUMNS.iter().find(|c| c.col.name() == name) else {
            refuse(
                format!(
                    "varel_session.sessions has a column this library does not know: {}",
                    name.to_string_lossy()
                ),
                "drop it (ALTER TABLE varel_session.sessions DROP COLUMN ...); keep your own \
                 per-session data in a table of your own keyed by the session's handle",
            );
        };
        let what_differs = if attr.atttypid != column.type_oid || attr.atttypmod != -1 {
            Some("its type differs")
        } else if attr.attnotnull != column.not_null {
            Some("its NOT NULL constraint differs")
        } else if attr.attgenerated != 0 || attr.attidentity != 0 {
            Some("it is a generated or identity column")
        } else {
            None
        };
        if let Some(what) = what_differs {
            refuse(
                format!(
                    "column {} of varel_session.sessions is not what this library expects: {what}",
                    name.to_string_lossy()
                ),
                REINSTALL_HINT,
            );
        }
        position[column.col.index()] = i;
    }
    let missing = COLUMNS
        .iter()
        .find(|c| !c.optional && position[c.col.index()] == ABSENT);
    if let Some(missing) = missing {
        refuse(
            format!(
                "varel_session.sessions has no column {}",
                missing.col.name().to_string_lossy()
            ),
            REINSTALL_HINT,
        );
    }
    Layout::new(natts, position)
}

/// Checks that `index` is a valid, ready btree on `table` whose first key column is the one at
/// `position`, with the operator family the scan keys are built for.
#[allow(clippy::too_many_arguments)]
unsafe fn check_index(
    index: Relation,
    table: Oid,
    name: &CStr,
    position: usize,
    opfamily: Oid,
    input_type: Oid,
    must_be_unique: bool,
) {
    let name = name.to_string_lossy();
    // SAFETY: the caller's contract: an open relation; rd_index is set for indexes.
    unsafe {
        let class = &*(*index).rd_rel;
        let form = (*index).rd_index;
        if class.relkind as u8 != pg_sys::RELKIND_INDEX || form.is_null() {
            refuse(
                format!("varel_session.{name} is not an index"),
                REINSTALL_HINT,
            );
        }
        let form = &*form;
        let first_key = *form.indkey.values.as_ptr();
        let problem = if form.indrelid != table {
            Some("it is not an index on varel_session.sessions")
        } else if class.relam != pg_sys::BTREE_AM_OID {
            Some("it is not a btree index")
        } else if form.indnkeyatts < 1 || i32::from(first_key) != position as i32 + 1 {
            Some("its first key column is not the expected one")
        } else if must_be_unique && form.indnkeyatts != 1 {
            Some("it has more key columns than the one it must make unique")
        } else if *(*index).rd_opfamily != opfamily || *(*index).rd_opcintype != input_type {
            Some("its operator class is not the expected one")
        } else if must_be_unique && (!form.indisunique || !form.indimmediate) {
            Some("it is not unique and immediate")
        } else if !form.indisvalid || !form.indisready || !form.indislive {
            Some("it is not valid (an interrupted CREATE INDEX or REINDEX CONCURRENTLY?)")
        } else {
            None
        };
        if let Some(problem) = problem {
            refuse(
                format!("varel_session.{name} cannot be used: {problem}"),
                REINSTALL_HINT,
            );
        }
    }
}

unsafe fn has_predicate(index: Relation) -> bool {
    // SAFETY: an open index; rd_indextuple is its pg_index row.
    unsafe {
        !pg_sys::heap_attisnull(
            (*index).rd_indextuple,
            pg_sys::Anum_pg_index_indpred as i32,
            std::ptr::null_mut(),
        )
    }
}

/// The by-user index may be partial only on `user_id IS NOT NULL` (what the extension creates):
/// a scan for one user then still finds all of that user's sessions.
unsafe fn by_user_predicate_is_usable(index: Relation, layout: &Layout) -> bool {
    // SAFETY: an open index.
    unsafe {
        if !has_predicate(index) {
            return true;
        }
        let predicate = pg_sys::RelationGetIndexPredicate(index);
        if pg_sys::list_length(predicate) != 1 {
            return false;
        }
        let node = pg_sys::list_nth(predicate, 0) as *mut pg_sys::Node;
        if !pgrx::is_a(node, pg_sys::NodeTag::T_NullTest) {
            return false;
        }
        let test = &*(node as *mut pg_sys::NullTest);
        let arg = test.arg as *mut pg_sys::Node;
        test.nulltesttype == pg_sys::NullTestType::IS_NOT_NULL
            && pgrx::is_a(arg, pg_sys::NodeTag::T_Var)
            && i32::from((*(arg as *mut pg_sys::Var)).varattno)
                == layout.position[Col::UserId.index()] as i32 + 1
    }
}

/// A rule an administrator declared on the table that a direct write would skip.
enum SkippedRule {
    Trigger(String),
    ForeignKey { constraint: String, table: String },
    Check(String),
    RowSecurity,
    Rewrite,
    DeferredIndex(String),
}

/// A deferrable unique or exclusion index: the executor checks it at commit from an AFTER
/// trigger it queues, which a direct write does not queue.
unsafe fn deferred_unique_index(heap: Relation) -> Option<String> {
    // SAFETY: an open table; the index list is a List of OIDs in the relcache's memory.
    unsafe {
        let list = pg_sys::RelationGetIndexList(heap);
        let count = pg_sys::list_length(list) as usize;
        for i in 0..count {
            let oid = (*(*list).elements.add(i)).oid_value;
            let index = pg_sys::index_open(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            let form = &*(*index).rd_index;
            let deferred = !form.indimmediate;
            let name = text((*(*index).rd_rel).relname.data.as_ptr());
            pg_sys::index_close(index, pg_sys::NoLock as pg_sys::LOCKMODE);
            if deferred {
                return Some(name);
            }
        }
        None
    }
}

/// The first rule a direct write would skip, if any.
unsafe fn first_skipped_rule(heap: Relation) -> Option<SkippedRule> {
    // SAFETY: an open table. The relcache entry's flags, rules and constraints are read before
    // any catalog lookup; the triggers are copied out before the lookups below, because a
    // lookup may process an invalidation that rebuilds the entry and frees its trigger list.
    unsafe {
        let class = &*(*heap).rd_rel;
        if class.relrowsecurity || class.relforcerowsecurity {
            return Some(SkippedRule::RowSecurity);
        }
        // Not `relhasrules`: PostgreSQL leaves it set after the last rule is dropped.
        if !(*heap).rd_rules.is_null() {
            return Some(SkippedRule::Rewrite);
        }
        let constr = (*(*heap).rd_att).constr;
        if !constr.is_null() && (*constr).num_check > 0 {
            let check = &*(*constr).check;
            return Some(SkippedRule::Check(text(check.ccname)));
        }
        let triggers = copy_triggers(heap);
        if let Some(name) = deferred_unique_index(heap) {
            return Some(SkippedRule::DeferredIndex(name));
        }
        for trigger in triggers {
            if trigger.enabled as u8 == pg_sys::TRIGGER_DISABLED || is_own_trigger(&trigger) {
                continue;
            }
            if trigger.constraint != pg_sys::InvalidOid {
                let constraint = text(pg_sys::get_constraint_name(trigger.constraint));
                let other = text(pg_sys::get_rel_name(trigger.constraint_table));
                return Some(SkippedRule::ForeignKey {
                    constraint,
                    table: other,
                });
            }
            return Some(SkippedRule::Trigger(trigger.name));
        }
        None
    }
}

/// What the checks need of one trigger, copied out of the relcache.
struct TriggerFacts {
    name: String,
    function: Oid,
    kind: i16,
    enabled: std::ffi::c_char,
    internal: bool,
    constraint: Oid,
    constraint_table: Oid,
}

/// The table's triggers, copied, so that no later catalog lookup can pull them from under us.
///
/// # Safety
/// `heap` must be an open relation.
unsafe fn copy_triggers(heap: Relation) -> Vec<TriggerFacts> {
    // SAFETY: the caller's contract; nothing here looks up the catalogs.
    unsafe {
        let triggers = (*heap).trigdesc;
        if triggers.is_null() {
            return Vec::new();
        }
        (0..(*triggers).numtriggers as usize)
            .map(|i| {
                let t = &*(*triggers).triggers.add(i);
                TriggerFacts {
                    name: text(t.tgname),
                    function: t.tgfoid,
                    kind: t.tgtype,
                    enabled: t.tgenabled,
                    internal: t.tgisinternal,
                    constraint: t.tgconstraint,
                    constraint_table: t.tgconstrrelid,
                }
            })
            .collect()
    }
}

/// Our `updated_at` trigger, as `sql/schema.sql` creates it: BEFORE UPDATE, per row, calling
/// `varel_session_internal.sessions_set_updated_at()` (in `varel_session` before 0.2.0, whose
/// SQL this library may meet until `ALTER EXTENSION ... UPDATE`).
///
/// # Safety
/// Looks up the catalogs (the trigger's function); call it on copied facts only.
unsafe fn is_own_trigger(trigger: &TriggerFacts) -> bool {
    const BEFORE_UPDATE_ROW: i16 = (pg_sys::TRIGGER_TYPE_ROW
        | pg_sys::TRIGGER_TYPE_BEFORE
        | pg_sys::TRIGGER_TYPE_UPDATE) as i16;
    if trigger.internal
        || trigger.kind != BEFORE_UPDATE_ROW
        || trigger.name.as_bytes() != OWN_TRIGGER.to_bytes()
    {
        return false;
    }
    // SAFETY: syscache lookups by OID; the names are NUL-terminated and palloc'd.
    unsafe {
        let function = pg_sys::get_func_name(trigger.function);
        let namespace = pg_sys::get_namespace_name(pg_sys::get_func_namespace(trigger.function));
        !function.is_null()
            && CStr::from_ptr(function) == OWN_TRIGGER
            && !namespace.is_null()
            && [INTERNAL_SCHEMA, SCHEMA].contains(&CStr::from_ptr(namespace))
    }
}

fn text(name: *const std::ffi::c_char) -> String {
    if name.is_null() {
        return "?".into();
    }
    // SAFETY: a NUL-terminated name from the catalogs.
    unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned()
}

/// Raises the error for the first rule a direct write would skip. Called by writers when the
/// verdict says `writes_allowed = false`.
///
/// # Safety
/// `heap` must be the open sessions table.
pub unsafe fn refuse_writes(heap: Relation) -> ! {
    // SAFETY: the caller's contract.
    let rule = unsafe { first_skipped_rule(heap) };
    let (message, hint) = match rule {
        Some(SkippedRule::Trigger(name)) => (
            format!(
                "varel_session.sessions has trigger {name}, which the session functions would not fire"
            ),
            "drop or disable the trigger (ALTER TABLE varel_session.sessions DISABLE TRIGGER \
             ...); to react to session events, read the table from your own job instead"
                .to_owned(),
        ),
        Some(SkippedRule::ForeignKey { constraint, table }) => (
            format!(
                "foreign key {constraint} (with table {table}) involves varel_session.sessions, \
                 and the session functions would not check it"
            ),
            "drop the constraint; refer to sessions by handle without a foreign key, and end \
             a deleted user's sessions with varel_session.session_user_revoke"
                .to_owned(),
        ),
        Some(SkippedRule::Check(name)) => (
            format!(
                "varel_session.sessions has CHECK constraint {name}, which the session \
                 functions would not evaluate"
            ),
            "drop the constraint (ALTER TABLE varel_session.sessions DROP CONSTRAINT ...)"
                .to_owned(),
        ),
        Some(SkippedRule::RowSecurity) => (
            "row-level security is enabled on varel_session.sessions, and the session \
             functions would not apply its policies"
                .to_owned(),
            "ALTER TABLE varel_session.sessions DISABLE ROW LEVEL SECURITY, NO FORCE ROW \
             LEVEL SECURITY; the table is reachable only through the functions anyway"
                .to_owned(),
        ),
        Some(SkippedRule::DeferredIndex(name)) => (
            format!(
                "index {name} on varel_session.sessions is deferrable, and the session \
                 functions would not check it at commit"
            ),
            "recreate it as NOT DEFERRABLE".to_owned(),
        ),
        Some(SkippedRule::Rewrite) => (
            "varel_session.sessions has rewrite rules, which the session functions would not apply"
                .to_owned(),
            "drop the rules (DROP RULE ... ON varel_session.sessions)".to_owned(),
        ),
        None => (
            "varel_session.sessions changed while it was being checked".to_owned(),
            "retry the call".to_owned(),
        ),
    };
    refuse(message, &hint)
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
