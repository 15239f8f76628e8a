//! The layout checks: the table's columns ([`Layout`]) and its indexes (primary key, by-user
//! index), what makes a direct read memory-safe.
//!
//! [`check_table_and_key`] is the full check behind a [`Verdict`]: the table, its columns and
//! its primary key are checked here, and `rules` says whether writes are allowed. `cache` runs
//! it, and [`check_by_user_index`], only after a change; [`refuse_if_too_new`] applies on every
//! call.

use super::{refuse, rules, Verdict, BY_USER, PRIMARY_KEY, PRIMARY_KEY_HINT, REINSTALL_HINT};
use crate::pg_compat::tuple_desc_attr;
use crate::row::{Col, COLUMNS, NATTS};
use pgrx::pg_sys::{self, Oid, Relation};
use std::ffi::CStr;

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

/// The planner's rule for an index rebuilt over broken HOT chains (`indcheckxmin`): usable only
/// by transactions whose snapshots are younger than the index's xmin.
pub(super) fn refuse_if_too_new(xmin: pg_sys::TransactionId, name: &CStr) {
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

/// The full check of the by-user index: a valid btree on `table` whose first key column is
/// `user_id`, with no predicate but `user_id IS NOT NULL`.
///
/// # Safety
/// `index` must be an open index, locked, and `layout` the layout of `table`.
pub(super) unsafe fn check_by_user_index(index: Relation, table: Oid, layout: &Layout) {
    // SAFETY: the caller's contract.
    unsafe {
        check_index(
            index,
            table,
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

/// The full check behind a [`Verdict`]: the table is an ordinary heap table, its columns are
/// the library's, its primary key is the unique btree the scans need, and (from `rules`)
/// whether a direct write would skip a rule.
///
/// # Safety
/// `heap` and `primary_key` must be open, the sessions table and its primary key.
pub(super) unsafe fn check_table_and_key(heap: Relation, primary_key: Relation) -> Verdict {
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
                PRIMARY_KEY_HINT,
            );
        }
        let pk_index = &*(*primary_key).rd_index;
        let primary_key_xmin = pk_index.indcheckxmin.then(|| {
            pg_sys::submodules::htup::HeapTupleHeaderGetXmin((*(*primary_key).rd_indextuple).t_data)
        });
        Verdict {
            layout,
            writes_allowed: rules::first_skipped_rule(heap).is_none(),
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
