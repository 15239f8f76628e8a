//! Per-user serialisation, and the sessions-per-user cap.
//!
//! Everything that adds a session to a user (`session_new` with a user, `session_set_user`)
//! or ends a user's sessions (`session_user_revoke`, `session_revoke`) first takes a
//! transaction-level lock on that user, then looks at the user's sessions with a snapshot
//! taken after the lock. So for one user these operations happen one after another: a revoke
//! either sees a concurrent log-in's session and ends it, or the log-in happens entirely after
//! the revoke; and two concurrent log-ins cannot both stay under the cap by not seeing each
//! other. Per-request functions never take this lock.
//!
//! Under REPEATABLE READ and SERIALIZABLE the snapshot is the transaction's, taken before the
//! lock, so it may miss a session another log-in committed meanwhile; counting or revoking
//! from it would break the cap or the revoke. There, [`require_complete_view`] fails with
//! 40001 instead (retry the transaction), where SQL would silently work from the old snapshot.

use crate::events::{self, Event};
use crate::gucs;
use crate::row::{Col, Row};
use crate::snapshot::LatestSnapshot;
use crate::storage::{self, Table};
use pgrx::pg_sys::{self, Snapshot};

/// The advisory-lock class of the per-user lock: in `pg_locks` it shows as
/// `locktype = 'advisory', classid = 1987208563, objsubid = 2`, i.e. the lock
/// `pg_advisory_xact_lock(1987208563, <user key>)` would take ("vses" in ASCII).
pub const USER_LOCK_CLASS: u32 = 0x7673_6573;

/// The 32-bit key of a user's lock: the user id folded onto itself (user ids below 2^31 map to
/// themselves; two users that share a key merely wait for each other).
pub fn user_lock_key(user_id: i64) -> u32 {
    let bits = user_id as u64;
    (bits ^ (bits >> 32)) as u32
}

/// Takes `user_id`'s lock until the end of the transaction.
pub fn lock_user(user_id: i64) {
    // SAFETY: builds an advisory LOCKTAG (SET_LOCKTAG_ADVISORY) and waits for it.
    unsafe {
        let mut tag: pg_sys::LOCKTAG = std::mem::zeroed();
        tag.locktag_field1 = u32::from(pg_sys::MyDatabaseId);
        tag.locktag_field2 = USER_LOCK_CLASS;
        tag.locktag_field3 = user_lock_key(user_id);
        tag.locktag_field4 = 2;
        tag.locktag_type = pg_sys::LockTagType::LOCKTAG_ADVISORY as u8;
        tag.locktag_lockmethodid = pg_sys::USER_LOCKMETHOD as u8;
        pg_sys::LockAcquire(
            &tag,
            pg_sys::ExclusiveLock as pg_sys::LOCKMODE,
            false,
            false,
        );
    }
}

/// Under REPEATABLE READ or SERIALIZABLE: fails with 40001 when a live session of `user_id`
/// exists that the transaction's snapshot does not see (a log-in committed after the snapshot
/// was taken). Does nothing under READ COMMITTED, whose snapshots are taken after the lock.
/// The caller holds the user's lock, so no such session can appear after this check.
pub fn require_complete_view(table: &Table, user_id: i64, snapshot: Snapshot, now: i64) {
    if !storage::uses_transaction_snapshot() {
        return;
    }
    let latest = LatestSnapshot::take();
    let mut missed = false;
    table.for_each_of_user(user_id, latest.get(), |slot| {
        let row = slot.row();
        missed = row.int8(Col::UserId) == Some(user_id)
            && row.is_live(now)
            && !table.visible_to(slot, snapshot);
        !missed
    });
    if missed {
        storage::serialization_failure("a concurrent change to the user's sessions");
    }
}

/// Before (or right after) a session gains `user_id`: ends the user's oldest live sessions so
/// that, with that one, the user stays within `varel_session.max_sessions_per_user`. The
/// session with handle `joining` (when it already exists) is not counted among the others.
/// The caller holds the user's lock and passes a snapshot taken after it. Returns how many
/// ended.
pub fn make_room(
    table: &Table,
    user_id: i64,
    joining: Option<i64>,
    snapshot: Snapshot,
    now: i64,
) -> u64 {
    let cap = gucs::MAX_SESSIONS_PER_USER.get();
    if cap == 0 {
        return 0;
    }
    require_complete_view(table, user_id, snapshot, now);
    let others = live_sessions_of(table, user_id, snapshot, now, joining);
    let excess = (others.len() + 1).saturating_sub(cap as usize);
    let mut ended = 0;
    let slot = table.slot();
    for victim in others.iter().take(excess) {
        let still_theirs = |row: &Row<'_>| row.int8(Col::UserId) == Some(user_id);
        if table.fetch_version(victim.tid, snapshot, &slot)
            && table.delete(&slot, snapshot, still_theirs)
        {
            ended += 1;
            events::emit(Event::Evicted, Some(victim.handle), Some(user_id), None);
        }
    }
    ended
}

struct UserSession {
    created_at: i64,
    handle: i64,
    tid: pg_sys::ItemPointerData,
}

/// The user's live sessions other than `except_handle`, oldest first.
fn live_sessions_of(
    table: &Table,
    user_id: i64,
    snapshot: Snapshot,
    now: i64,
    except_handle: Option<i64>,
) -> Vec<UserSession> {
    let mut found = Vec::new();
    table.for_each_of_user(user_id, snapshot, |slot| {
        let row = slot.row();
        let handle = row.int8(Col::Handle).unwrap_or_default();
        if row.int8(Col::UserId) == Some(user_id)
            && row.is_live(now)
            && Some(handle) != except_handle
        {
            found.push(UserSession {
                created_at: row.int8(Col::CreatedAt).unwrap_or_default(),
                handle,
                tid: slot.tid(),
            });
        }
        true
    });
    found.sort_by_key(|s| (s.created_at, s.handle));
    found
}
