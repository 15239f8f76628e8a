//! The rules an administrator may declare on the table that a direct write would skip:
//! triggers (all but the extension's own), foreign keys from or to the table, CHECK
//! constraints, row-level security, rewrite rules, deferrable unique or exclusion indexes.
//!
//! `layout`'s full check asks [`first_skipped_rule`] once per change, for the verdict's
//! `writes_allowed`; a writer whose verdict says no calls [`refuse_writes`], which finds the
//! rule again to name it in the error.

use super::{refuse, SCHEMA};
use pgrx::pg_sys::{self, Oid, Relation};
use std::ffi::CStr;

const INTERNAL_SCHEMA: &CStr = c"varel_session_internal";
/// The extension's own trigger (`sql/schema.sql`): the functions do its job (`updated_at`)
/// themselves, so it is the one trigger a direct write may skip.
const OWN_TRIGGER: &CStr = c"sessions_set_updated_at";

/// A rule an administrator declared on the table that a direct write would skip.
pub(super) enum SkippedRule {
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
pub(super) unsafe fn first_skipped_rule(heap: Relation) -> Option<SkippedRule> {
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
