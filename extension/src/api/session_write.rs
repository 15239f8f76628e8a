//! One write to the session a token names: the write snapshot, the table open for writing, and
//! the row as that snapshot sees it. Every per-request write goes through here; it follows a
//! concurrent update only while the token still names the row (`same_token`).

use crate::row::Row;
use crate::seal::{self, SealKey};
use crate::snapshot::WriteSnapshot;
use crate::storage::{Access, Decision, OnConflict, Slot, Table, Written};
use crate::token::{RawToken, TokenHash};
use crate::users;
use pgrx::pg_sys::Snapshot;
use std::ffi::CStr;

pub struct SessionWrite {
    snapshot: WriteSnapshot,
    table: Table,
    hash: TokenHash,
    found: Option<Slot>,
    /// For writes that read or rotate the data: the caller's id, whose key opens sealed data
    /// for the decision and seals what it writes (`seal`), or the key of `next_token`, a
    /// rotation's new token, when there is one. Keys are derived only when a row is sealed or
    /// sealing is on. Writes without an id (slides, deletes) leave the data as it is stored.
    id: Option<&'static [u8]>,
    next_token: Option<RawToken>,
}

impl SessionWrite {
    /// Takes the write snapshot for `function` (named in a read-only transaction's error) and
    /// finds the row `hash` names.
    pub fn begin(function: &CStr, hash: &TokenHash) -> SessionWrite {
        let snapshot = WriteSnapshot::take(function);
        Self::find(snapshot, hash)
    }

    /// Like [`begin`](Self::begin) for a write that adds the session to `user_id` (a log-in):
    /// takes the user's lock first and reads with a snapshot taken after it (`users`).
    pub fn begin_user_lock_first(function: &CStr, hash: &TokenHash, user_id: i64) -> SessionWrite {
        let mut snapshot = WriteSnapshot::take(function);
        users::lock_user(user_id);
        snapshot.refresh();
        Self::find(snapshot, hash)
    }

    /// Like [`begin`](Self::begin) for an optional write: `None`, without waiting, when the
    /// table is locked against writes (by DDL such as `CREATE INDEX`).
    pub fn begin_unless_busy(function: &CStr, hash: &TokenHash) -> Option<SessionWrite> {
        if !Table::write_lock_available() {
            return None;
        }
        Some(Self::begin(function, hash))
    }

    fn find(snapshot: WriteSnapshot, hash: &TokenHash) -> SessionWrite {
        let table = Table::open(Access::Write);
        let slot = table.slot();
        let found = table.fetch(hash, snapshot.get(), &slot).then_some(slot);
        SessionWrite {
            snapshot,
            table,
            hash: *hash,
            found,
            id: None,
            next_token: None,
        }
    }

    /// This write reads or replaces the data: `id`, the caller's token or framework id, opens
    /// sealed data and seals what is written.
    pub fn opening(mut self, id: Option<&'static [u8]>) -> SessionWrite {
        self.id = id;
        self
    }

    /// This write gives the row the token `next`: what it writes is sealed under its key.
    pub fn rekeyed(mut self, next: RawToken) -> SessionWrite {
        self.next_token = Some(next);
        self
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.get()
    }

    /// Applies `decide` to the row (see [`Table::update`]), following concurrent updates for
    /// as long as the token still names the row. `None` when there is no such row. The row
    /// as found is used up: a second update of the same `SessionWrite` finds nothing.
    pub fn update(
        &mut self,
        decide: impl for<'r> FnMut(&Row<'r>) -> Decision<'r>,
    ) -> Option<Written> {
        self.update_with(OnConflict::Follow, decide)
    }

    /// Like [`update`](Self::update) for an optional write: skipped, without waiting, when
    /// another transaction changed or locked the row.
    pub fn update_unless_busy(
        &mut self,
        decide: impl for<'r> FnMut(&Row<'r>) -> Decision<'r>,
    ) -> Option<Written> {
        self.update_with(OnConflict::Skip, decide)
    }

    fn update_with(
        &mut self,
        on_conflict: OnConflict,
        decide: impl for<'r> FnMut(&Row<'r>) -> Decision<'r>,
    ) -> Option<Written> {
        let found = self.found.take()?;
        let same = same_token(&self.hash);
        let decide = with_seal(self.id, self.next_token, decide);
        self.table
            .update(found, self.snapshot.get(), on_conflict, same, decide)
    }

    /// Deletes the row if `wanted` holds for it (and the token still names it).
    pub fn delete(self, wanted: impl Fn(&Row<'_>) -> bool) -> bool {
        let Some(found) = &self.found else {
            return false;
        };
        let same = same_token(&self.hash);
        self.table
            .delete(found, self.snapshot.get(), |row| same(row) && wanted(row))
    }
}

/// `decide` on the row's data opened with the key of `id`, and what it writes sealed again
/// (under the key of `next_token` when given); `decide` itself when there is no id.
fn with_seal<'d>(
    id: Option<&'static [u8]>,
    next_token: Option<RawToken>,
    mut decide: impl for<'r> FnMut(&Row<'r>) -> Decision<'r> + 'd,
) -> impl for<'r> FnMut(&Row<'r>) -> Decision<'r> + 'd {
    move |current| {
        let Some(id) = id else {
            return decide(current);
        };
        match decide(&seal::opened_with(*current, || SealKey::for_id(id))) {
            Decision::Write(mut next) => {
                seal::seal_if_on(&mut next, || match &next_token {
                    Some(raw) => Some(SealKey::for_token(raw)),
                    None => SealKey::for_id(id),
                });
                Decision::Write(next)
            }
            other => other,
        }
    }
}

/// Whether a row (possibly a newer version found after a concurrent update) is still the
/// session the caller's token names: a regenerate in between gives it another token.
fn same_token(hash: &TokenHash) -> impl Fn(&Row<'_>) -> bool + '_ {
    move |row: &Row<'_>| row.token_hash() == Some(&hash[..])
}
